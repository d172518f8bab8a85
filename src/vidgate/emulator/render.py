"""Synthetic but real MP4 outputs for the Runway emulator, drawn from the task's inputs.

Each mode makes pictures that visibly follow its inputs (:mod:`~vidgate.emulator.render_scenes`),
so a client (or a test) can tell that the right inputs reached the right task; the prompt is drawn
as a caption (:mod:`~vidgate.emulator.render_caption`), and for models that make sound it shapes
an AAC track as long as the video (:mod:`~vidgate.emulator.render_audio`). Frames are built in
YUV 4:2:0 (:mod:`~vidgate.emulator.render_picture`) and encoded one at a time
(:mod:`~vidgate.emulator.render_mux`), so memory stays flat and CPU stays low. The same inputs and
seed always give the same pictures and sound. The caption fades in and out in the image- and
video-driven modes so the first and last frames stay true to the input.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from vidgate.emulator.render_audio import SAMPLE_RATE, Sound
from vidgate.emulator.render_caption import Caption
from vidgate.emulator.render_inputs import (
    ImageInput,
    fit,
    load_image,
    margins,
    padded,
    video_frames,
)
from vidgate.emulator.render_mux import audio_samples, encode
from vidgate.emulator.render_picture import Planes, even_up
from vidgate.emulator.render_scenes import (
    backdrop,
    crossfade,
    pan,
    perform,
    restyle,
    still,
    text_scene,
)
from vidgate.media.probe import MediaSource

__all__ = ["ImageInput", "RenderResult", "render_video"]


@dataclass(frozen=True)
class RenderResult:
    """What was written: the exact frame count, duration and (even) size, and the sound's length
    (``None``: no sound track)."""

    frames: int
    duration_seconds: float
    width: int
    height: int
    audio_seconds: float | None = None


def render_video(
    dest: str | os.PathLike[str] | BinaryIO,
    *,
    width: int,
    height: int,
    duration_seconds: float,
    fps: int = 24,
    prompt_text: str | None = None,
    first_image: ImageInput | None = None,
    last_image: ImageInput | None = None,
    source_video: MediaSource | None = None,
    driving_video: MediaSource | None = None,
    seed: int = 0,
    audio: bool = False,
) -> RenderResult:
    """Write an H.264 MP4 of ``round(duration_seconds * fps)`` frames to ``dest``, with an AAC
    sound track of the same length when ``audio`` is set.

    The mode follows the inputs: ``driving_video`` makes a character performance (the character
    is ``first_image``, else ``source_video``, else a backdrop); else ``source_video`` makes video
    to video; else either image makes image to video; else text to video. Odd sizes are rounded
    up to even (H.264 4:2:0 needs them) and the result reports the size written. Unreadable
    inputs raise :class:`MediaRejected` naming the parameter; a partly written ``dest`` is then
    the caller's to discard.
    """
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    if fps < 1:
        raise ValueError(f"fps must be positive, got {fps}")
    if not duration_seconds > 0:
        raise ValueError(f"duration_seconds must be positive, got {duration_seconds}")
    w, h = even_up(width), even_up(height)
    count = max(1, round(duration_seconds * fps))
    rng = np.random.default_rng(seed)
    mx, my = margins(w, h)

    first = load_image(first_image, "first_image", (w, h)) if first_image is not None else None
    last = load_image(last_image, "last_image", (w, h)) if last_image is not None else None
    frames: Iterator[Planes]
    if driving_video is not None:
        inset_w, inset_h = even_up(w / 4), even_up(h / 4)
        driving = video_frames(driving_video, inset_w, inset_h, fps, count, "driving_video")
        if first is not None:
            character = still(padded(fit(first, w, h), mx, my), count)
        elif source_video is not None:
            character = video_frames(
                source_video, w + 2 * mx, h + 2 * my, fps, count, "source_video"
            )
        else:
            character = still(backdrop(w + 2 * mx, h + 2 * my, rng), count)
        frames = perform(character, driving, w, h)
    elif source_video is not None:
        frames = restyle(video_frames(source_video, w, h, fps, count, "source_video"), w, h)
    elif first is not None and last is not None:
        start = Planes.from_rgb(fit(first, w, h))
        end = Planes.from_rgb(fit(last, w, h))
        frames = crossfade(still(start, count), end, count, start_is_still=True)
    elif first is not None:
        frames = pan(fit(first, w, h), fps, count, rng)
    elif last is not None:
        end = Planes.from_rgb(fit(last, w, h))
        frames = crossfade(text_scene(w, h, fps, count, rng), end, count, start_is_still=False)
    else:
        frames = text_scene(w, h, fps, count, rng)

    caption = Caption.build(prompt_text, w, h) if prompt_text else None
    text_only = first is None and last is None and source_video is None and driving_video is None
    sound = Sound.for_prompt(prompt_text, seed) if audio else None
    options = {
        "width": w,
        "height": h,
        "fps": fps,
        "caption": caption,
        "count": count,
        "fade_caption": not text_only,
        "sound": sound,
    }
    if isinstance(dest, str | os.PathLike):
        written = encode(dest, frames, **options)  # type: ignore[arg-type]
    else:
        # A faststart MP4 needs a real file (a second pass moves the index): write one aside.
        with tempfile.TemporaryDirectory(prefix="vidgate-render-") as tmp:
            aside = os.path.join(tmp, "render.mp4")
            written = encode(aside, frames, **options)  # type: ignore[arg-type]
            with open(aside, "rb") as rendered:
                shutil.copyfileobj(rendered, dest)
    return RenderResult(
        frames=written,
        duration_seconds=written / fps,
        width=w,
        height=h,
        audio_seconds=audio_samples(written, fps) / SAMPLE_RATE if audio else None,
    )
