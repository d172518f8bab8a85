"""A moving preview of a stored video: a short animated WebP for the gallery's hover.

:data:`PREVIEW_SECONDS` of the video's start at :data:`PREVIEW_FPS`, at most :data:`PREVIEW_WIDTH`
pixels wide, looping. Made with bounded CPU: the decoder on one thread, only the frames the
preview needs scaled, the encoder at a middling effort. Only the worker makes previews, while it
stores a finished output (:mod:`vidgate.pipeline.outputs`); the API serves them, never makes one.
An animated WebP is a RIFF file whose header and frames come in playing order, so a browser shows
it as it arrives (there is no index at the end to wait for, as an MP4 without faststart has).
"""

from __future__ import annotations

import io
import os
from typing import Final

import av
import av.error
import numpy as np
from PIL import Image

from vidgate.errors import MediaRejected
from vidgate.media.probe import MediaSource, open_container

__all__ = ["PREVIEW_FPS", "PREVIEW_SECONDS", "PREVIEW_WIDTH", "make_preview", "save_preview"]

PREVIEW_SECONDS: Final = 2.5
PREVIEW_FPS: Final = 8
PREVIEW_WIDTH: Final = 320
_QUALITY: Final = 60
_METHOD: Final = 3  # libwebp effort 0-6: 3 is a fair trade of size against CPU


def make_preview(source: MediaSource, *, field: str = "file") -> bytes:
    """The animated WebP preview of ``source`` (a video), as bytes."""
    frames = _frames(source, field)
    if not frames:
        raise MediaRejected.single(field, "has no decodable picture")
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=round(1000 / PREVIEW_FPS),
        loop=0,
        quality=_QUALITY,
        method=_METHOD,
    )
    return buffer.getvalue()


def save_preview(source: MediaSource, dest: str | os.PathLike[str], *, field: str = "file") -> None:
    """Write the preview of ``source`` to ``dest``."""
    data = make_preview(source, field=field)
    with open(dest, "wb") as f:
        f.write(data)


def _frames(source: MediaSource, field: str) -> list[Image.Image]:
    wanted = round(PREVIEW_SECONDS * PREVIEW_FPS)
    pictures: list[Image.Image] = []
    with open_container(source, field=field) as container:
        if not container.streams.video:
            raise MediaRejected.single(field, "has no picture")
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        width, height = stream.codec_context.width, stream.codec_context.height
        scale = min(1.0, PREVIEW_WIDTH / max(width, 1))
        size = (max(2, round(width * scale)) & ~1, max(2, round(height * scale)) & ~1)
        first: float | None = None
        try:
            for frame in container.decode(stream):
                at = frame.time or 0.0
                first = at if first is None else first
                if at - first < len(pictures) / PREVIEW_FPS - 1e-4:
                    continue  # between two preview frames: not scaled, not kept
                picture = frame.reformat(width=size[0], height=size[1], format="rgb24")
                pictures.append(Image.fromarray(np.asarray(picture.to_ndarray(), dtype=np.uint8)))
                if len(pictures) >= wanted:
                    break
        except av.error.FFmpegError as exc:
            raise MediaRejected.single(field, f"is truncated or corrupt ({exc})") from exc
    return pictures
