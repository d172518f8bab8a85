"""The prompt as a caption: word-wrapped once onto a translucent panel, blended onto each frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidgate.emulator.render_picture import Overlay, Planes, even_down, even_up

__all__ = ["Caption", "caption_opacity"]


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
class Caption:
    overlay: Overlay
    x: int
    y: int

    @classmethod
    def build(cls, text: str, width: int, height: int) -> Caption | None:
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
        box_w = min(even_up(text_width + 2 * pad), even_down(width))
        box_h = min(even_up(len(lines) * line_height + 2 * pad), even_down(height))
        layer = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=pad, fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((pad, pad + i * line_height), line, font=font, fill=(255, 255, 255, 255))
        overlay = Overlay(np.asarray(layer, dtype=np.uint8))
        return cls(overlay, (width - box_w) // 2, height - box_h - height // 12)

    def draw(self, out: Planes, opacity: float) -> None:
        self.overlay.draw(out, self.x, self.y, opacity)


def caption_opacity(index: int, count: int, *, fade: bool) -> float:
    """Full throughout text to video; elsewhere zero on the first and last frames."""
    if not fade:
        return 1.0
    if count < 3:
        return 0.0
    return min(1.0, 2.5 * math.sin(math.pi * index / (count - 1)))
