"""What a media file really is, read with PyAV: kind, type from its bytes, size, duration, codecs.

The type is sniffed from the file's first bytes, never from its name, so a PNG uploaded as
``clip.mp4`` is reported as ``image/png``. :func:`probe_media` demuxes every packet (without
decoding) so a truncated or damaged file is refused up front rather than failing later inside a
provider; memory stays constant whatever the file's size. PyAV errors are translated here, once,
into :class:`~vidgate.errors.MediaRejected` naming the caller's field.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import av
import av.error
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from vidgate.catalog import MediaKind
from vidgate.errors import MediaRejected
from vidgate.media.bounds import MediaLimits, check_image_header, check_stream_headers
from vidgate.media.sniff import SNIFF_BYTES, sniff_mime
from vidgate.media.stills import SIZED_TYPES, STILL_TYPES, probe_still

__all__ = [
    "MediaInfo",
    "MediaSource",
    "ffmpeg_reason",
    "is_image",
    "open_container",
    "primary_video",
    "probe_media",
    "read_head",
]

MediaSource = str | os.PathLike[str] | bytes | BinaryIO
"""A path, the whole file in memory, or a seekable binary file object read from its start."""


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe_media` found; ``None`` where the container does not say."""

    kind: MediaKind
    container: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    frame_rate: float | None = None
    frame_count: int | None = None
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    audio_duration_seconds: float | None = None


# PyAV (FFmpeg demuxer) names, for files whose first bytes carry no signature.
_FORMAT_MIME: Final = {
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
    "matroska,webm": "video/x-matroska",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "aac": "audio/aac",
    "png_pipe": "image/png",
    "jpeg_pipe": "image/jpeg",
    "webp_pipe": "image/webp",
    "gif": "image/gif",
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
}


# Containers whose signature does not say whether they hold pictures: the streams decide.
_AUDIO_ONLY: Final = {
    "video/mp4": "audio/mp4",
    "video/webm": "audio/webm",
    "video/x-matroska": "audio/x-matroska",
    "video/ogg": "audio/ogg",
}


def ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    return exc.strerror or str(exc)


def read_head(source: MediaSource) -> bytes:
    if isinstance(source, bytes):
        return source[:SNIFF_BYTES]
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            return f.read(SNIFF_BYTES)
    source.seek(0)
    head = source.read(SNIFF_BYTES)
    source.seek(0)
    return head


@contextmanager
def open_container(source: MediaSource, *, field: str = "file") -> Iterator[InputContainer]:
    """Open ``source`` for reading with PyAV; a file it cannot read is a :class:`MediaRejected`.

    Only opening is guarded here: callers that demux or decode translate those errors themselves
    (see :func:`probe_media`), because what went wrong depends on how far they got.
    """
    target: str | BinaryIO
    if isinstance(source, bytes):
        target = io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        target = os.fspath(source)
    else:
        source.seek(0)  # FFmpeg seeks to absolute offsets: the object must start at the file
        target = source
    try:
        container = av.open(target, mode="r")
    except av.error.FFmpegError as exc:
        if isinstance(exc, FileNotFoundError):
            # A missing path is the caller's bug, not bad media: keep it out of FFmpegError.
            raise FileNotFoundError(exc.errno, exc.strerror, exc.filename) from exc
        mime = sniff_mime(read_head(source))
        what = f"is a truncated or corrupt {mime} file" if mime else "is not a readable media file"
        raise MediaRejected.single(field, f"{what} ({ffmpeg_reason(exc)})") from exc
    with container:
        yield container


def primary_video(container: InputContainer) -> VideoStream | None:
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _displayed_size(width: int, height: int, rotation: float) -> tuple[int, int]:
    # Phones record sideways and store a display rotation; report what a viewer sees.
    return (height, width) if round(rotation) % 180 == 90 else (width, height)


def probe_media(
    source: MediaSource, *, field: str = "file", limits: MediaLimits | None = None
) -> MediaInfo:
    """Read what ``source`` really is, checking every packet is present.

    Raises :class:`MediaRejected` (naming ``field``) when the file is empty, not media, has no
    audio or video stream, cannot be decoded, or is truncated or damaged. With ``limits`` (the
    catalog's), what the headers declare is checked first and a bomb is refused undecoded.
    """
    head = read_head(source)
    if not head:
        raise MediaRejected.single(field, "is empty")
    sniffed = sniff_mime(head)
    if limits is not None and sniffed in SIZED_TYPES:
        check_image_header(source, field=field, limits=limits)
    if sniffed in STILL_TYPES:
        still = probe_still(source, sniffed, field=field)
        return MediaInfo(
            kind=MediaKind.IMAGE,
            container=still.container,
            mime_type=sniffed,
            width=still.width,
            height=still.height,
            video_codec=still.codec,
        )
    with open_container(source, field=field) as container:
        video = primary_video(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaRejected.single(field, "has no audio or video stream")
        if limits is not None:
            check_stream_headers(
                container,
                video,
                audio,
                field=field,
                limits=limits,
                image=is_image(sniffed, container),
            )
        try:
            scan = _scan_packets(container, video, audio)
        except av.error.FFmpegError as exc:
            raise MediaRejected.single(
                field, f"is truncated or corrupt ({ffmpeg_reason(exc)})"
            ) from exc
        problem = scan.problem(video, audio)
        if problem:
            raise MediaRejected.single(field, problem)
        format_name = container.format.name
        mime = sniffed or _FORMAT_MIME.get(format_name, "application/octet-stream")
        if is_image(mime, container):
            kind = MediaKind.IMAGE
        elif video is not None:
            kind = MediaKind.VIDEO
        else:
            kind = MediaKind.AUDIO
            mime = _AUDIO_ONLY.get(mime, mime)
        width = height = None
        if video is not None:
            width, height = _displayed_size(
                video.codec_context.width, video.codec_context.height, scan.rotation
            )
        duration = None
        if kind is not MediaKind.IMAGE:
            if container.duration is not None and container.duration > 0:
                duration = container.duration / av.time_base
            else:
                duration = scan.duration()
        rate = (video.average_rate or video.guessed_rate) if video is not None else None
        return MediaInfo(
            kind=kind,
            container=format_name,
            mime_type=mime,
            width=width,
            height=height,
            duration_seconds=duration,
            video_codec=video.codec_context.name if video is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            frame_rate=float(rate) if rate and kind is MediaKind.VIDEO else None,
            frame_count=(scan.video_packets or None) if video is not None else None,
            **_audio_facts(audio, scan),
        )


def _audio_facts(audio: AudioStream | None, scan: _Scan) -> dict[str, Any]:
    """Channels, sample rate and length of the sound track (its own length, not the file's)."""
    if audio is None:
        return {}
    seconds: float | None = None
    if audio.duration and audio.time_base is not None:
        seconds = float(audio.duration * audio.time_base)
    return {
        "audio_channels": audio.codec_context.channels or None,
        "audio_sample_rate": audio.codec_context.sample_rate or None,
        "audio_duration_seconds": seconds or scan.audio_end_seconds or None,
    }


def is_image(mime: str | None, container: InputContainer) -> bool:
    name = container.format.name
    return (mime or "").startswith("image/") or name.endswith("_pipe") or name == "image2"


@dataclass
class _Scan:
    """What one demux pass saw; decoding stops after the first frame of each stream."""

    video_packets: int = 0
    audio_packets: int = 0
    corrupt_packets: int = 0
    video_decoded: bool = False
    audio_decoded: bool = False
    rotation: float = 0.0
    end_seconds: float = 0.0
    audio_end_seconds: float = 0.0

    def problem(self, video: VideoStream | None, audio: AudioStream | None) -> str | None:
        if self.corrupt_packets:
            return f"is truncated or corrupt ({self.corrupt_packets} damaged packet(s))"
        if video is not None:
            if not self.video_decoded:
                return "has a video stream with no decodable picture"
            if video.frames and self.video_packets < video.frames:
                return f"is truncated: {self.video_packets} of {video.frames} video frames present"
        if audio is not None:
            if not self.audio_decoded and video is None:
                return "has an audio stream with no decodable sound"
            if audio.frames and self.audio_packets < audio.frames:
                return f"is truncated: {self.audio_packets} of {audio.frames} audio packets present"
        return None

    def duration(self) -> float | None:
        return self.end_seconds or None


def _scan_packets(
    container: InputContainer, video: VideoStream | None, audio: AudioStream | None
) -> _Scan:
    scan = _Scan()
    streams = [s for s in (video, audio) if s is not None]
    for packet in container.demux(*streams):
        if packet.size == 0:  # the flush packet at the end of each stream
            continue
        if packet.is_corrupt:
            scan.corrupt_packets += 1
        end = 0.0
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            scan.end_seconds = max(scan.end_seconds, end)
        if video is not None and packet.stream_index == video.index:
            scan.video_packets += 1
            if not scan.video_decoded:
                for frame in packet.decode():
                    if isinstance(frame, VideoFrame):
                        scan.video_decoded = True
                        scan.rotation = frame.rotation
        else:
            scan.audio_packets += 1
            scan.audio_end_seconds = max(scan.audio_end_seconds, end)
            if not scan.audio_decoded and packet.decode():
                scan.audio_decoded = True
    if video is not None and not scan.video_decoded:
        # Decoders with delay (frame threads, B-frames) only give the first picture on flush.
        scan.video_decoded = bool(video.decode(None))
    return scan
