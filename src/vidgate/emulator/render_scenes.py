"""The moving pictures of each mode; every scene yields exactly ``count`` frames.

* text to video: a drifting, seed-coloured backdrop with a moving disc;
* image to video: a cross-fade that starts exactly on the first image and ends exactly on the last
  one, or a pan across the first image when there is no last one;
* video to video: each source frame mirrored, with U/V swapped (a hue shift) and luma posterized;
* character performance: the character moved and lit by the driving clip, shown inset.

A yielded buffer is reused: draw on it or encode it, do not keep it.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from vidgate.emulator.render_inputs import margins, padded
from vidgate.emulator.render_picture import U8, Overlay, Planes, even_down, even_up

__all__ = ["backdrop", "crossfade", "pan", "perform", "restyle", "still", "text_scene"]

_FADE_HOLD: Final = 0.15  # share of a cross-fade held on each end picture


def _palette(rng: np.random.Generator, n: int) -> NDArray[np.float32]:
    base = rng.random()
    colours = [
        colorsys.hsv_to_rgb(
            (base + i / n + rng.random() * 0.1) % 1.0,
            0.5 + 0.4 * rng.random(),
            0.55 + 0.4 * rng.random(),
        )
        for i in range(n)
    ]
    return np.array(colours, dtype=np.float32) * 255


def backdrop(width: int, height: int, rng: np.random.Generator) -> Planes:
    """A seed-coloured gradient with soft blobs and a few outlined shapes."""
    # Smooth colour fields are computed at 1/8 size and scaled up: same look, 1/64 of the work.
    sw, sh = max(width // 8, 2), max(height // 8, 2)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xx /= sw
    yy /= sh
    colours = _palette(rng, 4)
    angle = rng.random() * 2 * math.pi
    ramp = xx * math.cos(angle) + yy * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    field = colours[0] * (1 - ramp[..., None]) + colours[1] * ramp[..., None]
    for i in range(5):
        cx, cy, radius = rng.random(), rng.random(), 0.08 + 0.2 * rng.random()
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))[..., None] * 0.75
        field = field * (1 - blob) + colours[2 + i % 2] * blob
    small = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "RGB")
    picture = small.resize((width, height), Image.Resampling.BILINEAR).convert("RGBA")
    shapes = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    line = max(2, height // 120)
    for _ in range(6):
        x, y = rng.random() * width, rng.random() * height
        size = (0.05 + 0.12 * rng.random()) * height
        colour = (*(int(c) for c in _palette(rng, 1)[0]), 150)
        box = (x - size, y - size, x + size, y + size)
        if rng.random() < 0.5:
            draw.ellipse(box, outline=colour, width=line)
        else:
            draw.rectangle(box, outline=colour, width=line)
    picture.alpha_composite(shapes)
    return Planes.from_rgb(np.asarray(picture.convert("RGB"), dtype=np.uint8))


def _disc(diameter: int, rng: np.random.Generator) -> Overlay:
    r = diameter / 2
    yy, xx = np.mgrid[0:diameter, 0:diameter].astype(np.float32) + 0.5
    distance = np.hypot(xx - r, yy - r)
    rgba = np.empty((diameter, diameter, 4), np.uint8)
    colour = _palette(rng, 1)[0] * 0.3 + 255 * 0.7  # light, so it reads on any backdrop
    shade = np.clip(1.15 - 0.45 * distance / r, 0, 1)[..., None]
    rgba[..., :3] = np.clip(colour * shade, 0, 255).astype(np.uint8)
    rgba[..., 3] = np.clip((r - distance) * 255 / 2, 0, 255).astype(np.uint8)  # soft 2 px edge
    return Overlay(rgba)


def _wave(t: float, hz: float, phase: float) -> float:
    return math.sin(2 * math.pi * hz * t + phase)


def text_scene(
    width: int, height: int, fps: int, count: int, rng: np.random.Generator
) -> Iterator[Planes]:
    """The backdrop drifting under a fixed window, with a disc bouncing across it."""
    mx, my = margins(width, height)
    canvas = backdrop(width + 2 * mx, height + 2 * my, rng)
    diameter = even_up(height / 5)
    disc = _disc(diameter, rng)
    hz = 0.12 + 0.1 * rng.random(4)
    phase = rng.random(4) * 2 * math.pi
    out = Planes(width, height)
    for i in range(count):
        t = i / fps
        canvas.crop_into(
            out,
            even_down(mx * (1 + _wave(t, hz[0], phase[0]))),
            even_down(my * (1 + _wave(t, hz[1], phase[1]))),
        )
        disc.draw(
            out,
            (width - diameter) * (0.5 + 0.5 * _wave(t, hz[2] * 2, phase[2])),
            (height - diameter) * (0.5 + 0.5 * _wave(t, hz[3] * 2, phase[3])),
        )
        yield out


def still(picture: Planes, count: int) -> Iterator[Planes]:
    for _ in range(count):
        yield picture


def _fade_weight(index: int, count: int) -> int:
    """0 on the first frame, 128 on the last; held at each end, smoothstep between."""
    if count < 2:
        return 0
    u = (index / (count - 1) - _FADE_HOLD) / (1 - 2 * _FADE_HOLD)
    s = min(max(u, 0.0), 1.0)
    return round(128 * s * s * (3 - 2 * s))


def crossfade(
    start: Iterator[Planes], end: Planes, count: int, *, start_is_still: bool
) -> Iterator[Planes]:
    """From ``start``'s frames to ``end``: exact on both ends, int16 maths in between."""
    out = Planes(end.width, end.height)
    end16 = end.buf.astype(np.int16)
    work = np.empty_like(end16)
    diff: NDArray[np.int16] | None = None
    for index, frame in enumerate(start):
        weight = _fade_weight(index, count)
        if weight == 0:
            out.copy_from(frame)
        elif weight == 128:
            out.copy_from(end)
        else:
            if diff is None or not start_is_still:  # a still start: one difference for all
                diff = end16 - frame.buf
            np.multiply(diff, weight, out=work)  # |diff| * 128 < 2**15: no int16 overflow
            np.right_shift(work, 7, out=work)
            work += frame.buf
            np.copyto(out.buf, work, casting="unsafe")
        yield out


def pan(rgb: U8, fps: int, count: int, rng: np.random.Generator) -> Iterator[Planes]:
    """Start exactly on the picture, then drift across its mirrored surround."""
    height, width = rgb.shape[:2]
    mx, my = margins(width, height)
    canvas = padded(rgb, mx, my)
    dx = mx if rng.random() < 0.5 else -mx
    dy = (my if rng.random() < 0.5 else -my) // 2
    out = Planes(width, height)
    for i in range(count):
        s = i / max(count - 1, 1)
        s = s * s * (3 - 2 * s)
        canvas.crop_into(out, even_down(mx + dx * s), even_down(my + dy * s))
        yield out


def restyle(frames: Iterator[Planes], width: int, height: int) -> Iterator[Planes]:
    """Video to video: mirror, swap the chroma planes (a hue shift), posterize luma to 16 steps."""
    out = Planes(width, height)
    for frame in frames:
        np.bitwise_and(frame.y[:, ::-1], 0xF0, out=out.y)
        out.y |= 0x08  # the middle of each step, so posterizing does not darken the picture
        np.copyto(out.u, frame.v[:, ::-1])
        np.copyto(out.v, frame.u[:, ::-1])
        yield out


def perform(
    character: Iterator[Planes],
    driving: Iterator[Planes],
    width: int,
    height: int,
) -> Iterator[Planes]:
    """Character performance: the driving clip moves and lights the character.

    ``character`` yields pictures larger than the frame by the pan margins; the window follows
    where the driving clip moves (the centroid of frame-to-frame change), it bobs with the amount
    of motion, and its brightness tracks the driving clip's. The driving clip is shown inset.
    """
    mx, my = margins(width, height)
    out = Planes(width, height)
    window = Planes(width, height)
    previous: NDArray[np.float32] | None = None
    cx = cy = 0.5
    energy = 0.0
    for picture, drive in zip(character, driving, strict=False):
        luma = drive.y.astype(np.float32)
        if previous is not None:
            change = np.abs(luma - previous)
            total = float(change.sum())
            if total > 0:
                ys, xs = np.indices(change.shape, dtype=np.float32)
                # Smoothed so the character glides rather than jitters.
                cx = 0.8 * cx + 0.2 * float((xs * change).sum()) / total / change.shape[1]
                cy = 0.8 * cy + 0.2 * float((ys * change).sum()) / total / change.shape[0]
            energy = 0.7 * energy + 0.3 * min(float(change.mean()) / 24, 1.0)
        previous = luma
        x = mx + mx * max(-1.0, min(1.0, 2 * (cx - 0.5)))
        y = my + my * max(-1.0, min(1.0, 2 * (cy - 0.5))) * 0.5 - my * 0.5 * energy
        picture.crop_into(window, even_down(max(x, 0)), even_down(max(y, 0)))
        # In 1/128 steps, at most 1.35 x: 255 * 173 still fits in uint16.
        gain = np.uint16(round(128 * (0.65 + 0.7 * float(luma.mean()) / 255)))
        np.copyto(out.y, np.minimum(window.y * gain >> 7, 255), casting="unsafe")
        np.copyto(out.u, window.u)
        np.copyto(out.v, window.v)
        _inset(out, drive)
        yield out


def _inset(out: Planes, picture: Planes) -> None:
    """Draw ``picture`` in the bottom-right corner with a light border."""
    border = 2
    x = even_down(out.width - picture.width - out.width / 40)
    y = even_down(out.height - picture.height - out.height / 40)
    if x < border or y < border:
        return
    out.y[y - border : y + picture.height + border, x - border : x + picture.width + border] = 235
    rows = slice((y - border) // 2, (y + picture.height + border) // 2)
    columns = slice((x - border) // 2, (x + picture.width + border) // 2)
    out.u[rows, columns] = 128
    out.v[rows, columns] = 128
    out.y[y : y + picture.height, x : x + picture.width] = picture.y
    out.u[y // 2 : (y + picture.height) // 2, x // 2 : (x + picture.width) // 2] = picture.u
    out.v[y // 2 : (y + picture.height) // 2, x // 2 : (x + picture.width) // 2] = picture.v
