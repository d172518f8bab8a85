"""One YUV 4:2:0 picture as numpy planes, and RGBA overlays blended onto it with integer maths.

Frames are built directly in YUV 4:2:0 (the layout libx264 encodes from), so the per-frame work
of every scene is slicing and a few integer operations; sizes are kept even, as 4:2:0 needs.
"""

from __future__ import annotations

import math

import numpy as np
from av.video.frame import VideoFrame
from numpy.typing import NDArray

__all__ = ["U8", "U16", "Overlay", "Planes", "even_down", "even_up"]

U8 = NDArray[np.uint8]
U16 = NDArray[np.uint16]


def even_up(n: float) -> int:
    value = max(2, math.ceil(n))
    return value + (value & 1)


def even_down(n: float) -> int:
    return int(n) & ~1


class Planes:
    """One YUV 4:2:0 picture in one contiguous buffer: the layout PyAV encodes from."""

    __slots__ = ("buf", "height", "u", "v", "width", "y")

    def __init__(self, width: int, height: int, buf: U8 | None = None) -> None:
        n = width * height
        self.width = width
        self.height = height
        self.buf: U8 = np.empty(n * 3 // 2, np.uint8) if buf is None else buf
        self.y: U8 = self.buf[:n].reshape(height, width)
        self.u: U8 = self.buf[n : n + n // 4].reshape(height // 2, width // 2)
        self.v: U8 = self.buf[n + n // 4 :].reshape(height // 2, width // 2)

    @classmethod
    def from_rgb(cls, rgb: U8) -> Planes:
        height, width = rgb.shape[:2]
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        yuv = frame.reformat(format="yuv420p").to_ndarray()
        return cls(width, height, np.ascontiguousarray(yuv, dtype=np.uint8).reshape(-1))

    def copy_from(self, other: Planes) -> None:
        np.copyto(self.buf, other.buf)

    def crop_into(self, out: Planes, x: int, y: int) -> None:
        """Copy the ``out``-sized window at (x, y) (both even) into ``out``."""
        w, h = out.width, out.height
        np.copyto(out.y, self.y[y : y + h, x : x + w])
        np.copyto(out.u, self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2])
        np.copyto(out.v, self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2])

    def to_frame(self) -> VideoFrame:
        return VideoFrame.from_ndarray(self.buf.reshape(-1, self.width), format="yuv420p")


class Overlay:
    """An RGBA picture blended onto frames with integer maths, on its own box only."""

    def __init__(self, rgba: U8) -> None:
        h, w = rgba.shape[:2]
        planes = Planes.from_rgb(rgba[..., :3])
        alpha = rgba[..., 3].astype(np.uint16)
        alpha += alpha >> 7  # 0..255 -> 0..256, so opaque pixels replace the frame exactly
        alpha_c = (alpha.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3), dtype=np.uint16) + 2) >> 2
        self.width = w
        self.height = h
        # Per plane: colour, alpha, and the full-opacity terms precomputed (colour * alpha).
        self._layers: list[tuple[U16, U16, U16, U16, int]] = []
        for src, a, scale in ((planes.y, alpha, 1), (planes.u, alpha_c, 2), (planes.v, alpha_c, 2)):
            colour = src.astype(np.uint16)
            self._layers.append((colour, a, (256 - a).astype(np.uint16), colour * a + 128, scale))

    def draw(self, out: Planes, x: float, y: float, opacity: float = 1.0) -> None:
        """Blend onto ``out`` with its top-left at (x, y), clipped to the frame."""
        weight = min(256, round(opacity * 256))
        if weight <= 0:
            return
        left, top = even_down(x), even_down(y)
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
