"""Joining chained segments into one MP4 with PyAV, and the last picture a next segment starts from.

A chain's segment ``k + 1`` starts from segment ``k``'s last picture, so that picture is shown
twice at every seam. :func:`join_videos` keeps it once: each segment but the last loses its final
frame (the later segment's first frame, which repeats it, stays). That is also the frame stream
copy can drop safely, since no other frame refers to the last one of a stream without B-frames.

- Stream copy when every segment's video has the same codec, size, pixel format and codec
  parameters (extradata) and no B-frames; the packets are moved unchanged and only their
  timestamps shifted, so the result is bit-exact to the segments and fast.
- Re-encoding (libx264) otherwise: every picture is decoded, scaled to the first segment's size if
  needed and encoded at the first segment's frame rate.

``target_seconds`` sets the length: extra frames at the end are cut; a shortfall (at most one frame
per seam, since the seam frames are dropped) is covered by holding the final picture that much
longer. Audio is not carried (chained segments are joined picture-only).
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import av
import av.error
from av.container import InputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from vidgate.errors import MediaRejected
from vidgate.media.probe import MediaSource, extract_frame, open_container

__all__ = ["JoinResult", "join_videos", "last_frame_png"]

if TYPE_CHECKING:
    _Packet = Packet[Any]  # generic in the type stubs only
_DEFAULT_FPS = Fraction(24)
# Re-encoding keeps quality close to the segments': they are already lossy.
_X264_OPTIONS = {"preset": "veryfast", "crf": "18"}


@dataclass(frozen=True)
class JoinResult:
    """What :func:`join_videos` wrote."""

    mode: Literal["copy", "reencode"]
    frames: int
    duration_seconds: float
    width: int
    height: int


def last_frame_png(source: MediaSource, *, field: str = "segment") -> bytes:
    """The last picture of a video as PNG bytes (lossless: the next segment starts from it)."""
    buffer = io.BytesIO()
    extract_frame(source, "last", field=field).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class _Segment:
    container: InputContainer
    stream: VideoStream
    field: str

    @property
    def signature(self) -> tuple[object, ...]:
        ctx = self.stream.codec_context
        return (
            ctx.name,
            ctx.width,
            ctx.height,
            ctx.format.name if ctx.format else None,
            bytes(ctx.extradata or b""),
        )

    @property
    def fps(self) -> Fraction:
        rate = self.stream.average_rate or self.stream.guessed_rate
        return Fraction(rate) if rate else _DEFAULT_FPS


def join_videos(
    sources: Sequence[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    *,
    target_seconds: float | None = None,
) -> JoinResult:
    """Join ``sources`` end to start into the MP4 ``dest``, each seam's repeated frame once."""
    if not sources:
        raise ValueError("nothing to join")
    with ExitStack() as stack:
        segments: list[_Segment] = []
        for index, source in enumerate(sources):
            field = f"segments[{index}]"
            container = stack.enter_context(open_container(os.fspath(source), field=field))
            stream = next((s for s in container.streams.video), None)
            if stream is None:
                raise MediaRejected.single(field, "has no video stream")
            segments.append(_Segment(container, stream, field))
        packets = [_video_packets(s) for s in segments]
        copyable = len({s.signature for s in segments}) == 1 and all(
            _no_reordering(p) for p in packets
        )
        if copyable:
            return _copy(segments, packets, os.fspath(dest), target_seconds)
    return _reencode(sources, os.fspath(dest), target_seconds)


def _video_packets(segment: _Segment) -> list[_Packet]:
    """The segment's video packets in decode order (compressed: a few MB for a long segment)."""
    try:
        found = [
            p
            for p in segment.container.demux(segment.stream)
            if p.size and p.pts is not None and p.dts is not None
        ]
    except av.error.FFmpegError as exc:
        raise MediaRejected.single(segment.field, f"is truncated or corrupt ({exc})") from exc
    if not found:
        raise MediaRejected.single(segment.field, "has no video packets")
    return found


def _no_reordering(packets: Sequence[_Packet]) -> bool:
    """True when presentation order is decode order (no B-frames): the last packet is the last
    frame, and nothing refers to it."""
    return all(
        a.pts is not None and b.pts is not None and a.pts < b.pts
        for a, b in itertools.pairwise(packets)
    )


def _frame_count(fps: Fraction, seconds: float) -> int:
    return max(1, round(seconds * fps))


def _copy(
    segments: Sequence[_Segment],
    packets: Sequence[list[_Packet]],
    dest: str,
    target_seconds: float | None,
) -> JoinResult:
    first = segments[0]
    fps = first.fps
    out_base = first.stream.time_base or Fraction(1, 90_000)
    # Every segment but the last loses its final frame: the next one starts with that picture.
    kept = [p[:-1] if i < len(packets) - 1 and len(p) > 1 else p for i, p in enumerate(packets)]
    total = sum(len(p) for p in kept)
    if target_seconds is not None:
        total = min(total, _frame_count(fps, target_seconds))
    frame_ticks = Fraction(1) / fps / out_base  # one frame, in output ticks
    written = 0
    with av.open(dest, mode="w", format="mp4") as output:
        stream = output.add_stream_from_template(first.stream)
        stream.time_base = out_base
        offset = Fraction(0)  # where the current segment starts, in output ticks
        last: _Packet | None = None
        for segment, chosen in zip(segments, kept, strict=True):
            base = segment.stream.time_base or out_base
            start = min(p.pts for p in chosen if p.pts is not None)
            end = offset
            for packet in chosen:
                if written >= total:
                    break
                assert packet.pts is not None and packet.dts is not None
                pts = offset + (packet.pts - start) * base / out_base
                dts = offset + (packet.dts - start) * base / out_base
                duration = Fraction(packet.duration or 0) * base / out_base or frame_ticks
                packet.pts, packet.dts = round(pts), round(dts)
                packet.duration = round(duration)
                packet.stream = stream
                if last is not None:
                    output.mux(last)
                last = packet
                written += 1
                end = max(end, pts + duration)
            offset = end
        assert last is not None
        if target_seconds is not None:
            # Short by the dropped seam frames: hold the final picture until the target.
            wanted = Fraction(target_seconds) / out_base
            assert last.pts is not None
            last.duration = max(int(last.duration or 0), round(wanted - last.pts))
        output.mux(last)
    seconds = _seconds(target_seconds, written, fps)
    ctx = first.stream.codec_context
    return JoinResult("copy", written, seconds, ctx.width, ctx.height)


def _seconds(target: float | None, frames: int, fps: Fraction) -> float:
    natural = float(frames / fps)
    return max(natural, target) if target is not None else natural


def _frames_of(source: str | os.PathLike[str], field: str) -> Iterator[VideoFrame]:
    with open_container(os.fspath(source), field=field) as container:
        stream = next((s for s in container.streams.video), None)
        if stream is None:
            raise MediaRejected.single(field, "has no video stream")
        try:
            yield from container.decode(stream)
        except av.error.FFmpegError as exc:
            raise MediaRejected.single(field, f"is truncated or corrupt ({exc})") from exc


def _reencode(
    sources: Sequence[str | os.PathLike[str]], dest: str, target_seconds: float | None
) -> JoinResult:
    with open_container(os.fspath(sources[0]), field="segments[0]") as probe:
        first = next(s for s in probe.streams.video)
        width, height = first.codec_context.width, first.codec_context.height
        rate = first.average_rate or first.guessed_rate
        fps = Fraction(rate) if rate else _DEFAULT_FPS
    wanted = _frame_count(fps, target_seconds) if target_seconds is not None else math.inf
    written = 0
    with av.open(dest, mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps, options=dict(_X264_OPTIONS))
        stream.width, stream.height = width + (width & 1), height + (height & 1)
        stream.pix_fmt = "yuv420p"
        tick = 1 / fps  # the stream's own time_base changes once the muxer starts
        stream.time_base = tick
        previous: VideoFrame | None = None

        def put(frame: VideoFrame) -> None:
            nonlocal written
            frame.pts = written
            frame.time_base = tick
            output.mux(stream.encode(frame))
            written += 1

        for index, source in enumerate(sources):
            held: VideoFrame | None = None
            for frame in _frames_of(source, f"segments[{index}]"):
                if held is not None and written < wanted:
                    put(held)
                held = _fitted(frame, stream.width, stream.height)
            if held is None:
                raise MediaRejected.single(f"segments[{index}]", "has no decodable picture")
            previous = held  # the seam frame: written only by the last segment (below)
        assert previous is not None
        # The last segment's final frame, then the hold that covers the dropped seam frames.
        for _ in range(1 if math.isinf(wanted) else max(0, int(wanted) - written)):
            put(previous)
        output.mux(stream.encode(None))
    return JoinResult("reencode", written, float(written / fps), stream.width, stream.height)


def _fitted(frame: VideoFrame, width: int, height: int) -> VideoFrame:
    if frame.width == width and frame.height == height and frame.format.name == "yuv420p":
        return frame
    return frame.reformat(width=width, height=height, format="yuv420p")
