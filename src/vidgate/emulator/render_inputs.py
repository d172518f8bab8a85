"""The task's inputs as pictures: images decoded and fitted, videos decoded frame by frame.

Every costly step (decode, scale) is done once per input picture, or once per source frame that an
output frame shows; a video too short for the output is looped. Unreadable inputs raise
:class:`~vidgate.errors.MediaRejected` naming the request parameter.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from typing import Final

import av
import av.error
import numpy as np
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageOps

from vidgate.emulator.render_picture import U8, Planes, even_down, even_up
from vidgate.errors import MediaRejected
from vidgate.media.probe import MediaSource, open_container

__all__ = ["ImageInput", "fit", "load_image", "margins", "padded", "video_frames"]

ImageInput = Image.Image | str | os.PathLike[str] | bytes
"""A decoded picture, a path to one, or its encoded bytes."""

EPS: Final = 1e-4  # seconds; well under a frame, absorbs float error in frame times


def load_image(value: ImageInput, field: str, size: tuple[int, int]) -> Image.Image:
    """Decode an input picture, no larger than needed to cover ``size`` in any orientation."""
    if isinstance(value, Image.Image):
        return value
    try:
        with Image.open(io.BytesIO(value) if isinstance(value, bytes) else value) as image:
            side = max(size)
            image.draft("RGB", (side, side))  # JPEG: decode at a reduced scale, much cheaper
            image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except FileNotFoundError:
        raise  # a missing path is the caller's bug, not a bad image
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaRejected.single(field, f"is not a readable image ({exc})") from exc


def fit(image: Image.Image, width: int, height: int) -> U8:
    """Scale to cover ``width`` x ``height`` and crop the centre, as an RGB array."""
    fitted = ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8)


def padded(rgb: U8, mx: int, my: int) -> Planes:
    """The picture mirrored out by a margin on each side, so a window can pan across it."""
    return Planes.from_rgb(np.pad(rgb, ((my, my), (mx, mx), (0, 0)), mode="reflect"))


def margins(width: int, height: int) -> tuple[int, int]:
    return even_up(width * 0.06), even_up(height * 0.06)


def _primary_video(container: av.container.InputContainer, field: str) -> VideoStream:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise MediaRejected.single(field, "has no video stream")


def _cover_into(frame: VideoFrame, out: Planes) -> None:
    """Scale a decoded frame to cover ``out`` (swscale) and crop the centre."""
    scale = max(out.width / frame.width, out.height / frame.height)
    cw = max(out.width, even_up(frame.width * scale))
    ch = max(out.height, even_up(frame.height * scale))
    scaled = frame.reformat(width=cw, height=ch, format="yuv420p").to_ndarray()
    Planes(cw, ch, np.asarray(scaled, dtype=np.uint8).reshape(-1)).crop_into(
        out, even_down((cw - out.width) / 2), even_down((ch - out.height) / 2)
    )


def video_frames(
    source: MediaSource, width: int, height: int, fps: int, count: int, field: str
) -> Iterator[Planes]:
    """``count`` frames of ``source`` at ``fps`` and this size, looping it if it is too short.

    Each output frame shows the source frame on screen at that moment; source frames that no
    output frame needs are never scaled. The yielded buffer is reused: read it, do not keep it.
    """
    out = Planes(width, height)
    emitted = 0
    offset = 0.0  # where the current pass through the source starts on the output clock
    while emitted < count:
        end = offset
        try:
            with open_container(source, field=field) as container:
                stream = _primary_video(container, field)
                rate = stream.average_rate or stream.guessed_rate or 24
                step = 1 / float(rate)
                first_time: float | None = None
                pending: VideoFrame | None = None
                scaled = False
                # A None after the last frame: the last one stays on screen until its end.
                decoded = itertools.chain(container.decode(stream), [None])
                for index, frame in enumerate(decoded):
                    if frame is None:
                        now = end
                    else:
                        at = frame.time if frame.time is not None else index * step
                        if first_time is None:
                            first_time = at
                        now = offset + at - first_time
                    while pending is not None and emitted < count and emitted / fps < now - EPS:
                        if not scaled:
                            _cover_into(pending, out)
                            scaled = True
                        yield out
                        emitted += 1
                    if emitted >= count:
                        return
                    if frame is not None:
                        pending, scaled, end = frame, False, now + step
        except av.error.FFmpegError as exc:
            reason = exc.strerror or str(exc)
            raise MediaRejected.single(field, f"is truncated or corrupt ({reason})") from exc
        if end <= offset:  # the pass decoded nothing
            if emitted == 0:
                raise MediaRejected.single(field, "has no decodable video frames")
            break
        offset = end
    while emitted < count:  # a source that stopped decoding: hold its last picture
        yield out
        emitted += 1
