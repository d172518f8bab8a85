"""What a media file declares, checked against the catalog's limits before anything is decoded.

A few hundred bytes can declare a 16000x16000 picture whose decoding costs 768 MB, so sizes are read
from headers first: an image's with Pillow's lazy open (the header only, no pixel data), a video's
frame size, frame count and duration from the stream metadata PyAV reads when it opens a container
(no frame is decoded). Anything over ``max_pixels`` (per image, per video frame), ``max_seconds``
or ``max_frames`` (``[media.*]`` in models.toml) is refused unread, naming the caller's field.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Mapping
from typing import BinaryIO

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image, UnidentifiedImageError

from vidgate.catalog import MediaKind, MediaKindLimits
from vidgate.errors import MediaRejected

__all__ = ["MediaLimits", "check_image_header", "check_stream_headers"]

MediaLimits = Mapping[MediaKind, MediaKindLimits]
"""The catalog's limits by kind (``Catalog.media``)."""


def check_image_header(
    source: str | os.PathLike[str] | bytes | BinaryIO, *, field: str, limits: MediaLimits
) -> None:
    """Refuse an image whose header declares more than the image pixel cap; nothing is decoded.

    A file Pillow cannot identify passes here (the probe judges it); a file object is left at 0.
    """
    cap = limits[MediaKind.IMAGE].max_pixels if MediaKind.IMAGE in limits else None
    if cap is None:
        return
    target = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its own cap, raises) on large sizes; ours is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(target) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise MediaRejected.single(
            field, f"declares a picture over {cap:,} pixels; images may have at most {cap:,}"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return
    finally:
        if not isinstance(target, str | os.PathLike):
            target.seek(0)
    if width * height > cap:
        raise MediaRejected.single(
            field,
            f"is {width}x{height} ({width * height:,} pixels); images may have at most {cap:,}",
        )


def check_stream_headers(
    container: InputContainer,
    video: VideoStream | None,
    audio: AudioStream | None,
    *,
    field: str,
    limits: MediaLimits,
    image: bool = False,
) -> None:
    """Refuse a container whose streams declare more than the catalog allows; call it after
    opening and before demuxing or decoding anything. ``image``: the picture is a still image
    (PyAV reads one as a one-frame video), held to the image cap."""
    if video is not None and image:
        _check_pixels(video, field, limits.get(MediaKind.IMAGE), "images")
        return
    seconds = container.duration / av.time_base if container.duration else None
    if video is not None:
        kind = MediaKind.VIDEO
        video_limits = limits.get(kind)
        _check_pixels(video, field, video_limits, "video frames")
        most = video_limits.max_frames if video_limits else None
        if most is not None and video.frames > most:
            raise MediaRejected.single(
                field, f"has {video.frames:,} frames; videos may have at most {most:,}"
            )
        if seconds is None and video.duration and video.time_base:
            seconds = float(video.duration * video.time_base)
    elif audio is not None:
        kind = MediaKind.AUDIO
    else:
        return
    kind_limits = limits.get(kind)
    longest = kind_limits.max_seconds if kind_limits else None
    if longest is not None and seconds is not None and seconds > longest:
        raise MediaRejected.single(
            field, f"is {seconds:,.0f} s long; {kind}s may be at most {longest:g} s"
        )


def _check_pixels(
    video: VideoStream, field: str, limits: MediaKindLimits | None, what: str
) -> None:
    cap = limits.max_pixels if limits else None
    width, height = video.codec_context.width, video.codec_context.height
    if cap is not None and width * height > cap:
        raise MediaRejected.single(
            field,
            f"is {width}x{height} ({width * height:,} pixels); {what} may have at most {cap:,}",
        )
