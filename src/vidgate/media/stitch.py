"""Joining chained segments into one MP4 with PyAV, and the last picture a next segment starts from.

A chain's segment ``k + 1`` starts from segment ``k``'s last picture, so the seam shows that picture
continuing: the joined video keeps every frame of every segment, and its frame count is the sum of
theirs (a 30 s chain of three 10 s segments at 24 fps has 720 frames), less ``overlap_frames`` at
each seam when the plan declares that a later segment repeats the end of the one before.

- Stream copy when every segment's video has the same codec, size, pixel format and codec
  parameters (extradata), no B-frames and no overlap to drop; the packets are moved unchanged and
  only their timestamps shifted, so the pictures are bit-exact to the segments and fast.
- Re-encoding (libx264) otherwise: every picture is decoded, scaled to the first segment's size if
  needed and encoded at the first segment's frame rate.

``target_seconds`` sets the length: extra frames at the end are cut; a shortfall is covered by
holding the final picture. Sound (:mod:`vidgate.media.stitch_audio`) is kept when any segment has
it: each segment's track under its own pictures, a short crossfade at each seam, exactly as long as
the video. The file is faststart (:data:`vidgate.media.mp4_layout.FASTSTART`).
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
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from vidgate.errors import MediaRejected
from vidgate.media.frames import extract_frame
from vidgate.media.mp4_layout import FASTSTART
from vidgate.media.probe import MediaSource, open_container
from vidgate.media.stitch_audio import AudioSeams, segment_sound, silence, track_format

__all__ = ["JoinResult", "join_videos", "last_frame_png"]

if TYPE_CHECKING:
    _Packet = Packet[Any]  # generic in the type stubs only
_DEFAULT_FPS = Fraction(24)
# Re-encoding keeps quality close to the segments': they are already lossy.
_X264_OPTIONS = {"preset": "veryfast", "crf": "18"}


@dataclass(frozen=True)
class JoinResult:
    """What :func:`join_videos` wrote; ``audio_seconds`` is ``None`` when there is no sound."""

    mode: Literal["copy", "reencode"]
    frames: int
    duration_seconds: float
    width: int
    height: int
    audio_seconds: float | None = None


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


class _Sound:
    """The joined track, fed segment by segment with the frames each one keeps."""

    def __init__(self, output: OutputContainer, rate: int, fps: Fraction) -> None:
        self.seams = AudioSeams(output, rate)
        self.fps = fps
        self.frames = 0  # pictures laid so far
        self.output = output

    def _sample(self, frames: int) -> int:
        return round(frames * self.seams.rate / self.fps)

    def _length(self, frames: int) -> int:
        length = self._sample(self.frames + frames) - self._sample(self.frames)
        self.frames += frames
        return length

    def add(self, source: str, field: str, frames: int, skipped: int = 0) -> None:
        """The sound under a segment's ``frames`` pictures, after its first ``skipped``."""
        skip = round(skipped * self.seams.rate / self.fps)
        samples = segment_sound(source, field, self.seams.rate, self._length(frames), skip)
        for packet in self.seams.add(samples):
            self.output.mux(packet)

    def hold(self, frames: int) -> None:
        """Silence under a held final picture."""
        for packet in self.seams.add(silence(self._length(frames))):
            self.output.mux(packet)

    def finish(self) -> float:
        for packet in self.seams.finish():
            self.output.mux(packet)
        return self._sample(self.frames) / self.seams.rate


def join_videos(
    sources: Sequence[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    *,
    target_seconds: float | None = None,
    overlap_frames: int = 0,
) -> JoinResult:
    """Join ``sources`` end to start into the faststart MP4 ``dest``.

    Every frame is kept but the first ``overlap_frames`` of each later segment (declared repeats
    of the previous segment's end); sound is kept with a crossfade at each seam.
    """
    if not sources:
        raise ValueError("nothing to join")
    if overlap_frames < 0:
        raise ValueError(f"overlap_frames must be >= 0, got {overlap_frames}")
    paths = [os.fspath(s) for s in sources]
    rate = track_format(paths)
    with ExitStack() as stack:
        segments: list[_Segment] = []
        for index, source in enumerate(paths):
            field = f"segments[{index}]"
            container = stack.enter_context(open_container(source, field=field))
            stream = next((s for s in container.streams.video), None)
            if stream is None:
                raise MediaRejected.single(field, "has no video stream")
            segments.append(_Segment(container, stream, field))
        packets = [_video_packets(s) for s in segments]
        copyable = (
            overlap_frames == 0
            and len({s.signature for s in segments}) == 1
            and all(_no_reordering(p) for p in packets)
        )
        if copyable:
            return _copy(segments, packets, paths, os.fspath(dest), target_seconds, rate)
    return _reencode(paths, os.fspath(dest), target_seconds, overlap_frames, rate)


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
    """True when presentation order is decode order (no B-frames): cutting a tail is safe."""
    return all(
        a.pts is not None and b.pts is not None and a.pts < b.pts
        for a, b in itertools.pairwise(packets)
    )


def _frame_count(fps: Fraction, seconds: float) -> int:
    return max(1, round(seconds * fps))


def _copy(
    segments: Sequence[_Segment],
    packets: Sequence[list[_Packet]],
    paths: Sequence[str],
    dest: str,
    target_seconds: float | None,
    rate: int | None,
) -> JoinResult:
    first = segments[0]
    fps = first.fps
    out_base = first.stream.time_base or Fraction(1, 90_000)
    total = sum(len(p) for p in packets)
    if target_seconds is not None:
        total = min(total, _frame_count(fps, target_seconds))
    frame_ticks = Fraction(1) / fps / out_base  # one frame, in output ticks
    written = 0
    audio_seconds = None
    with av.open(dest, mode="w", format="mp4", options=dict(FASTSTART)) as output:
        stream = output.add_stream_from_template(first.stream)
        stream.time_base = out_base
        sound = _Sound(output, rate, fps) if rate else None
        offset = Fraction(0)  # where the current segment starts, in output ticks
        last: _Packet | None = None
        for segment, chosen, path in zip(segments, packets, paths, strict=True):
            if written >= total:
                break
            base = segment.stream.time_base or out_base
            start = min(p.pts for p in chosen if p.pts is not None)
            end = offset
            kept = 0
            for packet in chosen[: total - written]:
                assert packet.pts is not None and packet.dts is not None
                pts = offset + (packet.pts - start) * base / out_base
                dts = offset + (packet.dts - start) * base / out_base
                packet.pts, packet.dts = round(pts), round(dts)
                packet.duration = round(frame_ticks)  # each picture one frame, exactly
                packet.stream = stream
                if last is not None:
                    output.mux(last)
                last = packet
                kept += 1
                end = max(end, pts + frame_ticks)
            written += kept
            offset = end
            if sound is not None:
                sound.add(path, segment.field, kept)
        assert last is not None
        held = 0
        if target_seconds is not None:
            # Short of the target: hold the final picture until it.
            wanted = _frame_count(fps, target_seconds)
            held = max(0, wanted - written)
            last.duration = round(frame_ticks * (1 + held))
            if sound is not None and held:
                sound.hold(held)
        output.mux(last)
        if sound is not None:
            audio_seconds = sound.finish()
    ctx = first.stream.codec_context
    seconds = float((written + held) / fps)
    return JoinResult("copy", written, seconds, ctx.width, ctx.height, audio_seconds)


def _frames_of(source: str, field: str) -> Iterator[VideoFrame]:
    with open_container(source, field=field) as container:
        stream = next((s for s in container.streams.video), None)
        if stream is None:
            raise MediaRejected.single(field, "has no video stream")
        try:
            yield from container.decode(stream)
        except av.error.FFmpegError as exc:
            raise MediaRejected.single(field, f"is truncated or corrupt ({exc})") from exc


def _reencode(
    sources: Sequence[str],
    dest: str,
    target_seconds: float | None,
    overlap_frames: int,
    rate: int | None,
) -> JoinResult:
    with open_container(sources[0], field="segments[0]") as probe:
        first = next(s for s in probe.streams.video)
        width, height = first.codec_context.width, first.codec_context.height
        video_rate = first.average_rate or first.guessed_rate
        fps = Fraction(video_rate) if video_rate else _DEFAULT_FPS
    wanted = _frame_count(fps, target_seconds) if target_seconds is not None else math.inf
    written = 0
    audio_seconds = None
    with av.open(dest, mode="w", format="mp4", options=dict(FASTSTART)) as output:
        stream = output.add_stream("libx264", rate=fps, options=dict(_X264_OPTIONS))
        stream.width, stream.height = width + (width & 1), height + (height & 1)
        stream.pix_fmt = "yuv420p"
        tick = 1 / fps  # the stream's own time_base changes once the muxer starts
        stream.time_base = tick
        sound = _Sound(output, rate, fps) if rate else None
        previous: VideoFrame | None = None

        def put(frame: VideoFrame) -> None:
            nonlocal written
            frame.pts = written
            frame.time_base = tick
            output.mux(stream.encode(frame))
            written += 1

        for index, source in enumerate(sources):
            field = f"segments[{index}]"
            skip = overlap_frames if index else 0
            before = written
            for frame in _frames_of(source, field):
                if skip:
                    skip -= 1
                    continue
                if written < wanted:
                    previous = _fitted(frame, stream.width, stream.height)
                    put(previous)
            if previous is None:
                raise MediaRejected.single(field, "has no decodable picture")
            if sound is not None:
                sound.add(source, field, written - before, overlap_frames if index else 0)
        assert previous is not None
        shortfall = 0 if math.isinf(wanted) else max(0, int(wanted) - written)
        if sound is not None and shortfall:
            sound.hold(shortfall)
        for _ in range(shortfall):  # short of the target: hold the final picture
            put(previous)
        output.mux(stream.encode(None))
        if sound is not None:
            audio_seconds = sound.finish()
    return JoinResult(
        "reencode", written, float(written / fps), stream.width, stream.height, audio_seconds
    )


def _fitted(frame: VideoFrame, width: int, height: int) -> VideoFrame:
    if frame.width == width and frame.height == height and frame.format.name == "yuv420p":
        return frame
    return frame.reformat(width=width, height=height, format="yuv420p")
