"""Synthetic but real H.264 MP4 outputs for the Runway emulator, drawn from the task's inputs.

Each mode makes pictures that visibly follow its inputs, so a client (or a test) can tell that
the right inputs reached the right task:

* text to video: the prompt over a drifting, seed-coloured backdrop with a moving disc;
* image to video: starts exactly on the first image and ends exactly on the last one (a
  cross-fade), or pans across the first image when there is no last one;
* video to video: each source frame mirrored, with U/V swapped (a hue shift) and luma posterized;
* character performance: the character (image or video) moved and lit by the driving clip, which
  is shown picture-in-picture.

Frames are built directly in YUV 4:2:0 with numpy and encoded one at a time (libx264,
ultrafast, one thread), so memory stays flat and CPU stays low: everything costly (backdrop,
caption, fitted images) is made once, and the per-frame work is slicing and a few integer
operations. The same inputs and seed always give the same pictures. The prompt caption fades in
and out in the image- and video-driven modes so the first and last frames stay true to the input.
"""

from __future__ import annotations

import colorsys
import io
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO, Final

import av
import av.error
import numpy as np
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont, ImageOps

from vidgate.errors import MediaRejected
from vidgate.media.probe import MediaSource, open_container

__all__ = ["ImageInput", "RenderResult", "render_video"]

ImageInput = Image.Image | str | os.PathLike[str] | bytes
"""A decoded picture, a path to one, or its encoded bytes."""

_U8 = NDArray[np.uint8]
_U16 = NDArray[np.uint16]

# libx264 at its cheapest: a 5 s 720p clip must cost well under a second of CPU. One thread
# (set on the codec context), because x264's worker threads add CPU time for no gain here.
_X264_OPTIONS: Final = {"preset": "ultrafast", "crf": "23"}
# BT.601 limited range: what swscale's default RGB->YUV conversion produces; tagged so players
# convert back with the same matrix (AVCOL_SPC/PRI/TRC_SMPTE170M, AVCOL_RANGE_MPEG).
_BT601: Final = 6
_RANGE_LIMITED: Final = 1

_FADE_HOLD: Final = 0.15  # share of a cross-fade held on each end picture
_EPS: Final = 1e-4  # seconds; well under a frame, absorbs float error in frame times


@dataclass(frozen=True)
class RenderResult:
    """What was written: the exact frame count, duration and (even) size."""

    frames: int
    duration_seconds: float
    width: int
    height: int


def _even(n: float) -> int:
    value = max(2, math.ceil(n))
    return value + (value & 1)


def _even_floor(n: float) -> int:
    return int(n) & ~1


class _Planes:
    """One YUV 4:2:0 picture in one contiguous buffer: the layout PyAV encodes from."""

    __slots__ = ("buf", "height", "u", "v", "width", "y")

    def __init__(self, width: int, height: int, buf: _U8 | None = None) -> None:
        n = width * height
        self.width = width
        self.height = height
        self.buf: _U8 = np.empty(n * 3 // 2, np.uint8) if buf is None else buf
        self.y: _U8 = self.buf[:n].reshape(height, width)
        self.u: _U8 = self.buf[n : n + n // 4].reshape(height // 2, width // 2)
        self.v: _U8 = self.buf[n + n // 4 :].reshape(height // 2, width // 2)

    @classmethod
    def from_rgb(cls, rgb: _U8) -> _Planes:
        height, width = rgb.shape[:2]
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        yuv = frame.reformat(format="yuv420p").to_ndarray()
        return cls(width, height, np.ascontiguousarray(yuv, dtype=np.uint8).reshape(-1))

    def copy_from(self, other: _Planes) -> None:
        np.copyto(self.buf, other.buf)

    def crop_into(self, out: _Planes, x: int, y: int) -> None:
        """Copy the ``out``-sized window at (x, y) (both even) into ``out``."""
        w, h = out.width, out.height
        np.copyto(out.y, self.y[y : y + h, x : x + w])
        np.copyto(out.u, self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2])
        np.copyto(out.v, self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2])

    def to_frame(self) -> VideoFrame:
        return VideoFrame.from_ndarray(self.buf.reshape(-1, self.width), format="yuv420p")


class _Overlay:
    """An RGBA picture blended onto frames with integer maths, on its own box only."""

    def __init__(self, rgba: _U8) -> None:
        h, w = rgba.shape[:2]
        planes = _Planes.from_rgb(rgba[..., :3])
        alpha = rgba[..., 3].astype(np.uint16)
        alpha += alpha >> 7  # 0..255 -> 0..256, so opaque pixels replace the frame exactly
        alpha_c = (alpha.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3), dtype=np.uint16) + 2) >> 2
        self.width = w
        self.height = h
        # Per plane: colour, alpha, and the full-opacity terms precomputed (colour * alpha).
        self._layers: list[tuple[_U16, _U16, _U16, _U16, int]] = []
        for src, a, scale in ((planes.y, alpha, 1), (planes.u, alpha_c, 2), (planes.v, alpha_c, 2)):
            colour = src.astype(np.uint16)
            self._layers.append((colour, a, (256 - a).astype(np.uint16), colour * a + 128, scale))

    def draw(self, out: _Planes, x: float, y: float, opacity: float = 1.0) -> None:
        """Blend onto ``out`` with its top-left at (x, y), clipped to the frame."""
        weight = min(256, round(opacity * 256))
        if weight <= 0:
            return
        left, top = _even_floor(x), _even_floor(y)
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + self.width, out.width), min(top + self.height, out.height)
        if x0 >= x1 or y0 >= y1:
            return
        for dst, (colour, alpha, inverse, pre, k) in zip(
            (out.y, out.u, out.v), self._layers, strict=True
        ):
            box = (
                slice((y0 - top) // k, (y1 - top) // k),
                slice((x0 - left) // k, (x1 - left) // k),
            )
            region = dst[y0 // k : y1 // k, x0 // k : x1 // k]
            # uint16 is enough: region * (256 - a) + colour * a <= 255 * 256.
            if weight == 256:
                mixed = region * inverse[box] + pre[box]
            else:
                a = alpha[box] * weight >> 8  # alpha <= 256, weight < 256: fits in uint16
                mixed = region * (256 - a) + colour[box] * a + 128
            np.copyto(region, mixed >> 8, casting="unsafe")


# --- inputs -------------------------------------------------------------------------------------


def _load_image(value: ImageInput, field: str, size: tuple[int, int]) -> Image.Image:
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


def _fit(image: Image.Image, width: int, height: int) -> _U8:
    """Scale to cover ``width`` x ``height`` and crop the centre, as an RGB array."""
    fitted = ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8)


def _padded(rgb: _U8, mx: int, my: int) -> _Planes:
    """The picture mirrored out by a margin on each side, so a window can pan across it."""
    return _Planes.from_rgb(np.pad(rgb, ((my, my), (mx, mx), (0, 0)), mode="reflect"))


def _margins(width: int, height: int) -> tuple[int, int]:
    return _even(width * 0.06), _even(height * 0.06)


def _primary_video(container: av.container.InputContainer, field: str) -> VideoStream:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise MediaRejected.single(field, "has no video stream")


def _cover_into(frame: VideoFrame, out: _Planes) -> None:
    """Scale a decoded frame to cover ``out`` (swscale) and crop the centre."""
    scale = max(out.width / frame.width, out.height / frame.height)
    cw = max(out.width, _even(frame.width * scale))
    ch = max(out.height, _even(frame.height * scale))
    scaled = frame.reformat(width=cw, height=ch, format="yuv420p").to_ndarray()
    _Planes(cw, ch, np.asarray(scaled, dtype=np.uint8).reshape(-1)).crop_into(
        out, _even_floor((cw - out.width) / 2), _even_floor((ch - out.height) / 2)
    )


def _video_frames(
    source: MediaSource, width: int, height: int, fps: int, count: int, field: str
) -> Iterator[_Planes]:
    """``count`` frames of ``source`` at ``fps`` and this size, looping it if it is too short.

    Each output frame shows the source frame on screen at that moment; source frames that no
    output frame needs are never scaled. The yielded buffer is reused: read it, do not keep it.
    """
    out = _Planes(width, height)
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
                for index, frame in enumerate(container.decode(stream)):
                    at = frame.time if frame.time is not None else index * step
                    if first_time is None:
                        first_time = at
                    now = offset + at - first_time
                    while pending is not None and emitted < count and emitted / fps < now - _EPS:
                        if not scaled:
                            _cover_into(pending, out)
                            scaled = True
                        yield out
                        emitted += 1
                    if emitted >= count:
                        return
                    pending, scaled, end = frame, False, now + step
                while pending is not None and emitted < count and emitted / fps < end - _EPS:
                    if not scaled:
                        _cover_into(pending, out)
                        scaled = True
                    yield out
                    emitted += 1
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


# --- scenes: each yields exactly `count` frames into a buffer the caller may draw on -----------


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


def _backdrop(width: int, height: int, rng: np.random.Generator) -> _Planes:
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
    return _Planes.from_rgb(np.asarray(picture.convert("RGB"), dtype=np.uint8))


def _disc(diameter: int, rng: np.random.Generator) -> _Overlay:
    r = diameter / 2
    yy, xx = np.mgrid[0:diameter, 0:diameter].astype(np.float32) + 0.5
    distance = np.hypot(xx - r, yy - r)
    rgba = np.empty((diameter, diameter, 4), np.uint8)
    colour = _palette(rng, 1)[0] * 0.3 + 255 * 0.7  # light, so it reads on any backdrop
    shade = np.clip(1.15 - 0.45 * distance / r, 0, 1)[..., None]
    rgba[..., :3] = np.clip(colour * shade, 0, 255).astype(np.uint8)
    rgba[..., 3] = np.clip((r - distance) * 255 / 2, 0, 255).astype(np.uint8)  # soft 2 px edge
    return _Overlay(rgba)


def _wave(t: float, hz: float, phase: float) -> float:
    return math.sin(2 * math.pi * hz * t + phase)


def _text_scene(
    width: int, height: int, fps: int, count: int, rng: np.random.Generator
) -> Iterator[_Planes]:
    """The backdrop drifting under a fixed window, with a disc bouncing across it."""
    mx, my = _margins(width, height)
    canvas = _backdrop(width + 2 * mx, height + 2 * my, rng)
    diameter = _even(height / 5)
    disc = _disc(diameter, rng)
    hz = 0.12 + 0.1 * rng.random(4)
    phase = rng.random(4) * 2 * math.pi
    out = _Planes(width, height)
    for i in range(count):
        t = i / fps
        canvas.crop_into(
            out,
            _even_floor(mx * (1 + _wave(t, hz[0], phase[0]))),
            _even_floor(my * (1 + _wave(t, hz[1], phase[1]))),
        )
        disc.draw(
            out,
            (width - diameter) * (0.5 + 0.5 * _wave(t, hz[2] * 2, phase[2])),
            (height - diameter) * (0.5 + 0.5 * _wave(t, hz[3] * 2, phase[3])),
        )
        yield out


def _still(picture: _Planes, count: int) -> Iterator[_Planes]:
    for _ in range(count):
        yield picture


def _fade_weight(index: int, count: int) -> int:
    """0 on the first frame, 128 on the last; held at each end, smoothstep between."""
    if count < 2:
        return 0
    u = (index / (count - 1) - _FADE_HOLD) / (1 - 2 * _FADE_HOLD)
    s = min(max(u, 0.0), 1.0)
    return round(128 * s * s * (3 - 2 * s))


def _crossfade(
    start: Iterator[_Planes], end: _Planes, count: int, *, start_is_still: bool
) -> Iterator[_Planes]:
    """From ``start``'s frames to ``end``: exact on both ends, int16 maths in between."""
    out = _Planes(end.width, end.height)
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


def _pan(rgb: _U8, fps: int, count: int, rng: np.random.Generator) -> Iterator[_Planes]:
    """Start exactly on the picture, then drift across its mirrored surround."""
    height, width = rgb.shape[:2]
    mx, my = _margins(width, height)
    canvas = _padded(rgb, mx, my)
    dx = mx if rng.random() < 0.5 else -mx
    dy = (my if rng.random() < 0.5 else -my) // 2
    out = _Planes(width, height)
    for i in range(count):
        s = i / max(count - 1, 1)
        s = s * s * (3 - 2 * s)
        canvas.crop_into(out, _even_floor(mx + dx * s), _even_floor(my + dy * s))
        yield out


def _restyle(frames: Iterator[_Planes], width: int, height: int) -> Iterator[_Planes]:
    """Video to video: mirror, swap the chroma planes (a hue shift), posterize luma to 16 steps."""
    out = _Planes(width, height)
    for frame in frames:
        np.bitwise_and(frame.y[:, ::-1], 0xF0, out=out.y)
        out.y |= 0x08  # the middle of each step, so posterizing does not darken the picture
        np.copyto(out.u, frame.v[:, ::-1])
        np.copyto(out.v, frame.u[:, ::-1])
        yield out


def _perform(
    character: Iterator[_Planes],
    driving: Iterator[_Planes],
    width: int,
    height: int,
) -> Iterator[_Planes]:
    """Character performance: the driving clip moves and lights the character.

    ``character`` yields pictures larger than the frame by the pan margins; the window follows
    where the driving clip moves (the centroid of frame-to-frame change), it bobs with the amount
    of motion, and its brightness tracks the driving clip's. The driving clip is shown inset.
    """
    mx, my = _margins(width, height)
    out = _Planes(width, height)
    window = _Planes(width, height)
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
        picture.crop_into(window, _even_floor(max(x, 0)), _even_floor(max(y, 0)))
        # In 1/128 steps, at most 1.35 x: 255 * 173 still fits in uint16.
        gain = np.uint16(round(128 * (0.65 + 0.7 * float(luma.mean()) / 255)))
        np.copyto(out.y, np.minimum(window.y * gain >> 7, 255), casting="unsafe")
        np.copyto(out.u, window.u)
        np.copyto(out.v, window.v)
        _inset(out, drive)
        yield out


def _inset(out: _Planes, picture: _Planes) -> None:
    """Draw ``picture`` in the bottom-right corner with a light border."""
    border = 2
    x = _even_floor(out.width - picture.width - out.width / 40)
    y = _even_floor(out.height - picture.height - out.height / 40)
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


# --- caption ------------------------------------------------------------------------------------


def _wrap(
    text: str,
    draw: ImageDraw.ImageDraw,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    max_width: float,
    max_lines: int,
) -> list[str]:
    """Greedy word wrap; over-long words are split, and overflow ends in an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if draw.textlength(candidate, font=font) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while draw.textlength(word, font=font) > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and draw.textlength(word[:cut], font=font) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
        if len(lines) >= max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "...", font=font) > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "..."
    return lines


@dataclass(frozen=True)
class _Caption:
    overlay: _Overlay
    x: int
    y: int

    @classmethod
    def build(cls, text: str, width: int, height: int) -> _Caption | None:
        """The prompt on a translucent panel in the lower third, rendered once."""
        text = " ".join(text.split())
        if not text:
            return None
        size = max(10, height // 18)
        font = ImageFont.load_default(size=size)
        measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
        pad = max(4, size // 2)
        lines = _wrap(text, measure, font, width * 0.86 - 2 * pad, max_lines=3)
        line_height = round(size * 1.3)
        text_width = max(measure.textlength(line, font=font) for line in lines)
        box_w = min(_even(text_width + 2 * pad), _even_floor(width))
        box_h = min(_even(len(lines) * line_height + 2 * pad), _even_floor(height))
        layer = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((pad, pad + i * line_height), line, font=font, fill=(255, 255, 255, 255))
        overlay = _Overlay(np.asarray(layer, dtype=np.uint8))
        return cls(overlay, (width - box_w) // 2, height - box_h - height // 12)

    def draw(self, out: _Planes, opacity: float) -> None:
        self.overlay.draw(out, self.x, self.y, opacity)


def _caption_opacity(index: int, count: int, *, fade: bool) -> float:
    """Full throughout text to video; elsewhere zero on the first and last frames."""
    if not fade:
        return 1.0
    if count < 3:
        return 0.0
    return min(1.0, 2.5 * math.sin(math.pi * index / (count - 1)))


# --- encoding -----------------------------------------------------------------------------------


def _encode(
    dest: str | os.PathLike[str] | BinaryIO,
    frames: Iterator[_Planes],
    *,
    width: int,
    height: int,
    fps: int,
    caption: _Caption | None,
    count: int,
    fade_caption: bool,
) -> int:
    target: str | BinaryIO = os.fspath(dest) if isinstance(dest, str | os.PathLike) else dest
    written = 0
    with av.open(target, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options=dict(_X264_OPTIONS))
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)  # one tick per frame: duration is exactly count/fps
        codec = stream.codec_context
        codec.thread_count = 1
        codec.gop_size = 2 * fps  # a key frame every 2 s keeps seeking (last frame, posters) cheap
        codec.colorspace = codec.color_primaries = codec.color_trc = _BT601
        codec.color_range = _RANGE_LIMITED
        for index, planes in enumerate(frames):
            if caption is not None:
                caption.draw(planes, _caption_opacity(index, count, fade=fade_caption))
            frame = planes.to_frame()
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
            written += 1
        container.mux(stream.encode(None))
    return written


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
) -> RenderResult:
    """Write an H.264 MP4 of ``round(duration_seconds * fps)`` frames to ``dest``.

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
    w, h = _even(width), _even(height)
    count = max(1, round(duration_seconds * fps))
    rng = np.random.default_rng(seed)
    mx, my = _margins(w, h)

    first = _load_image(first_image, "first_image", (w, h)) if first_image is not None else None
    last = _load_image(last_image, "last_image", (w, h)) if last_image is not None else None
    frames: Iterator[_Planes]
    if driving_video is not None:
        inset_w, inset_h = _even(w / 4), _even(h / 4)
        driving = _video_frames(driving_video, inset_w, inset_h, fps, count, "driving_video")
        if first is not None:
            character = _still(_padded(_fit(first, w, h), mx, my), count)
        elif source_video is not None:
            character = _video_frames(
                source_video, w + 2 * mx, h + 2 * my, fps, count, "source_video"
            )
        else:
            character = _still(_backdrop(w + 2 * mx, h + 2 * my, rng), count)
        frames = _perform(character, driving, w, h)
    elif source_video is not None:
        frames = _restyle(_video_frames(source_video, w, h, fps, count, "source_video"), w, h)
    elif first is not None and last is not None:
        start = _Planes.from_rgb(_fit(first, w, h))
        end = _Planes.from_rgb(_fit(last, w, h))
        frames = _crossfade(_still(start, count), end, count, start_is_still=True)
    elif first is not None:
        frames = _pan(_fit(first, w, h), fps, count, rng)
    elif last is not None:
        end = _Planes.from_rgb(_fit(last, w, h))
        frames = _crossfade(_text_scene(w, h, fps, count, rng), end, count, start_is_still=False)
    else:
        frames = _text_scene(w, h, fps, count, rng)

    caption = _Caption.build(prompt_text, w, h) if prompt_text else None
    text_only = first is None and last is None and source_video is None and driving_video is None
    written = _encode(
        dest,
        frames,
        width=w,
        height=h,
        fps=fps,
        caption=caption,
        count=count,
        fade_caption=not text_only,
    )
    return RenderResult(frames=written, duration_seconds=written / fps, width=w, height=h)
