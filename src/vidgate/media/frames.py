"""Pictures out of a video (or an image): its first or last frame, and the poster.

Every picture's declared size is held to the catalog's media limits before a frame is decoded
(:mod:`vidgate.media.bounds`), and only one frame is in memory at a time.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Literal

import av
import av.error
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from vidgate.catalog import get_catalog
from vidgate.errors import MediaRejected
from vidgate.media.bounds import MediaLimits, check_image_header, check_stream_headers
from vidgate.media.probe import (
    MediaSource,
    ffmpeg_reason,
    is_image,
    open_container,
    primary_video,
    read_head,
)
from vidgate.media.sniff import sniff_mime
from vidgate.media.stills import SIZED_TYPES

__all__ = ["extract_frame", "save_poster"]


def _to_image(frame: VideoFrame) -> Image.Image:
    image = Image.fromarray(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8))
    rotation = round(frame.rotation) % 360
    return image.rotate(rotation, expand=True) if rotation else image


def _first_frame(container: InputContainer, stream: VideoStream) -> VideoFrame | None:
    for frame in container.decode(stream):
        return frame
    return None


def _last_frame(container: InputContainer, stream: VideoStream) -> VideoFrame | None:
    last: VideoFrame | None = None
    for frame in container.decode(stream):
        last = frame  # keep one frame only: memory stays flat on long videos
    return last


def _seek_near_end(container: InputContainer, stream: VideoStream) -> bool:
    """Jump to the key frame before the last picture; False if the file cannot seek."""
    if container.duration is None or container.duration <= 0 or stream.time_base is None:
        return False
    rate = stream.average_rate or stream.guessed_rate
    step = 1 / float(rate) if rate else 0.1
    start = (container.start_time or 0) / av.time_base
    target = start + container.duration / av.time_base - step
    try:
        container.seek(int(max(target, 0) / stream.time_base), stream=stream, backward=True)
    except av.error.FFmpegError:
        return False
    return True


def extract_frame(
    source: MediaSource,
    which: Literal["first", "last"] = "first",
    *,
    field: str = "file",
    limits: MediaLimits | None = None,
) -> Image.Image:
    """The first or last picture of a video (or the picture of an image), as an RGB image.

    For ``"last"`` the reader seeks to the final key frame and decodes from there, falling back to
    a full decode (still one frame in memory at a time) when the file cannot seek. The picture's
    declared size is held to ``limits`` (the catalog's by default) before a frame is decoded.
    """
    limits = get_catalog().media if limits is None else limits
    try:
        frame = _decode_one(source, which, field, limits, seek=True)
        if frame is None and which == "last":
            frame = _decode_one(source, which, field, limits, seek=False)  # the seek found nothing
    except av.error.FFmpegError as exc:
        raise MediaRejected.single(
            field, f"is truncated or corrupt ({ffmpeg_reason(exc)})"
        ) from exc
    if frame is None:
        raise MediaRejected.single(field, "has no decodable picture")
    return _to_image(frame)


def _decode_one(
    source: MediaSource,
    which: Literal["first", "last"],
    field: str,
    limits: MediaLimits,
    *,
    seek: bool,
) -> VideoFrame | None:
    head = read_head(source)
    if sniff_mime(head) in SIZED_TYPES:
        check_image_header(source, field=field, limits=limits)
    with open_container(source, field=field) as container:
        stream = primary_video(container)
        if stream is None:
            raise MediaRejected.single(field, "has no picture")
        image = is_image(sniff_mime(head), container)
        check_stream_headers(container, stream, None, field=field, limits=limits, image=image)
        if which == "first":
            return _first_frame(container, stream)
        if seek:
            _seek_near_end(container, stream)  # when it cannot, decoding starts at the top
        return _last_frame(container, stream)


def save_poster(
    video_source: MediaSource,
    dest: str | os.PathLike[str] | BinaryIO,
    *,
    quality: int = 85,
    field: str = "file",
) -> None:
    """Write the first picture of ``video_source`` to ``dest`` as a JPEG."""
    extract_frame(video_source, "first", field=field).save(dest, format="JPEG", quality=quality)
