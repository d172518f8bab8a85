"""A sound track drawn from the prompt: a soft chord, or noise, for models that make sound.

The prompt (with the seed) decides the sound, so a listener or a test can tell tasks apart: words
for noisy scenes (rain, wind, waves, crowds...) give filtered noise that swells and falls, any
other prompt a three-note chord whose root, spread and tremolo come from the prompt's digest. The
track is exactly as long as the video (one sample per 1/48000 s, a whole number per frame at every
usual frame rate), made in small blocks so memory stays flat, and it fades in and out over a few
milliseconds so neither end clicks.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["BLOCK_SAMPLES", "CHANNELS", "SAMPLE_RATE", "Sound"]

SAMPLE_RATE: Final = 48_000
CHANNELS: Final = 2
BLOCK_SAMPLES: Final = 1024  # one AAC frame
_LEVEL: Final = 0.18  # peak well below full scale: AAC has headroom to spare
_EDGE_SECONDS: Final = 0.005
_NOISY_WORDS: Final = frozenset(
    {
        "rain",
        "storm",
        "wind",
        "waves",
        "ocean",
        "sea",
        "surf",
        "crowd",
        "city",
        "traffic",
        "fire",
        "waterfall",
        "river",
        "static",
        "noise",
        "applause",
        "engine",
        "thunder",
        "stream",
        "forest",
    }
)


@dataclass(frozen=True)
class Sound:
    """What the track will sound like; :meth:`blocks` renders it."""

    noisy: bool
    root_hz: float
    ratios: tuple[float, float, float]
    tremolo_hz: float
    seed: int

    @classmethod
    def for_prompt(cls, prompt: str | None, seed: int) -> Sound:
        text = " ".join((prompt or "").lower().split())
        digest = hashlib.sha256(f"{seed}\n{text}".encode()).digest()
        words = set(re.findall(r"[a-z]+", text))
        # A root between 110 and 440 Hz (two octaves), a major or minor triad over it.
        root = 110.0 * 2 ** (digest[0] / 128)
        third = 5 / 4 if digest[1] & 1 else 6 / 5
        return cls(
            noisy=bool(words & _NOISY_WORDS),
            root_hz=root,
            ratios=(1.0, third, 3 / 2),
            tremolo_hz=0.5 + digest[2] / 64,
            seed=int.from_bytes(digest[3:11], "big"),
        )

    def blocks(self, samples: int) -> Iterator[NDArray[np.float32]]:
        """``samples`` samples as planar float blocks of shape (CHANNELS, <= BLOCK_SAMPLES)."""
        rng = np.random.default_rng(self.seed)
        edge = max(1, round(_EDGE_SECONDS * SAMPLE_RATE))
        smooth = np.zeros(CHANNELS, np.float32)
        for start in range(0, samples, BLOCK_SAMPLES):
            n = min(BLOCK_SAMPLES, samples - start)
            t = (start + np.arange(n)) / SAMPLE_RATE
            swell = 0.6 + 0.4 * np.sin(2 * math.pi * self.tremolo_hz * t)
            if self.noisy:
                block, smooth = self._noise(rng, n, smooth)
                block *= swell
            else:
                tone = sum(
                    np.sin(2 * math.pi * self.root_hz * r * t) / (i + 1)
                    for i, r in enumerate(self.ratios)
                )
                mono = tone * swell / 1.8
                # A slow pan: the chord drifts between the speakers.
                pan = 0.5 + 0.3 * np.sin(2 * math.pi * 0.1 * t)
                block = np.stack([mono * (1 - pan), mono * pan]) * 2
            gain = np.ones(n)
            index = start + np.arange(n)
            gain = np.minimum(gain, (index + 1) / edge)
            gain = np.minimum(gain, (samples - index) / edge)
            yield (block * gain * _LEVEL).astype(np.float32)

    @staticmethod
    def _noise(
        rng: np.random.Generator, n: int, state: NDArray[np.float32]
    ) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
        """White noise through a gentle low-pass (a short moving average, carried over blocks)."""
        white = rng.standard_normal((CHANNELS, n)) * 0.35
        # Average with the previous sample: softens the hiss; the state carries across blocks.
        shifted = np.concatenate([state[:, None], white[:, :-1]], axis=1)
        return (white + shifted) / 2, white[:, -1].astype(np.float32)
