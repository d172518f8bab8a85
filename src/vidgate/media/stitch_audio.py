"""The sound of a joined chain: each segment's track laid under its pictures, crossfaded at seams.

Every segment's sound is decoded (one segment at a time, so memory follows the longest segment, not
the chain), converted to one format (the first track's rate, stereo, planar float), and cut or
padded with silence to exactly the length of the pictures it belongs to; a segment without sound
contributes silence. The joined track therefore has exactly as many samples as the joined video
lasts, and each segment's sound stays in sync with its pictures.

At each seam a short equal-power crossfade (:data:`CROSSFADE_SECONDS`) hides the click of two
unrelated waveforms meeting. It is centred on the seam and keeps the length: the earlier segment
fades out over a handle made by mirroring its last samples past the seam, the later one fades in
over its first samples mirrored before it. The track ends with a few milliseconds' fade, since a
chain cut to its target length may end mid-sound.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

import av
import av.error
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.packet import Packet
from numpy.typing import NDArray

from vidgate.errors import MediaRejected
from vidgate.media.probe import open_container

__all__ = ["CROSSFADE_SECONDS", "AudioSeams", "segment_sound", "silence", "track_format"]

if TYPE_CHECKING:
    _Packet = Packet[Any]  # generic in the type stubs only

CROSSFADE_SECONDS: Final = 0.02
_END_FADE_SECONDS: Final = 0.005
_CHANNELS: Final = 2
_BLOCK: Final = 1024  # samples per AAC frame
_BIT_RATE: Final = 160_000

_Samples = NDArray[np.float32]


def track_format(sources: list[str]) -> int | None:
    """The sample rate of the first segment that has sound; ``None`` when none has."""
    for index, source in enumerate(sources):
        with open_container(source, field=f"segments[{index}]") as container:
            if container.streams.audio:
                rate = container.streams.audio[0].codec_context.sample_rate
                if rate:
                    return int(rate)
    return None


def segment_sound(source: str, field: str, rate: int, length: int, skip: int = 0) -> _Samples:
    """Exactly ``length`` samples of the segment's sound at ``rate``, from sample ``skip`` on,
    as (channels, samples) float32: cut, or padded with silence (silence without a track)."""
    samples = _decoded(source, field, rate)[:, skip:]
    if samples.shape[1] >= length:
        return samples[:, :length]
    return np.pad(samples, ((0, 0), (0, length - samples.shape[1])))


def silence(length: int) -> _Samples:
    return np.zeros((_CHANNELS, length), np.float32)


def _decoded(source: str, field: str, rate: int) -> _Samples:
    """The segment's first sound track as (channels, samples) float32; empty when it has none."""
    resampler = AudioResampler(format="fltp", layout="stereo", rate=rate)
    parts: list[_Samples] = []
    with open_container(source, field=field) as container:
        if not container.streams.audio:
            return np.zeros((_CHANNELS, 0), np.float32)
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    parts.append(np.asarray(out.to_ndarray(), dtype=np.float32))
            for out in resampler.resample(None):
                parts.append(np.asarray(out.to_ndarray(), dtype=np.float32))
        except av.error.FFmpegError as exc:
            raise MediaRejected.single(field, f"has a damaged sound track ({exc})") from exc
    if not parts:
        return np.zeros((_CHANNELS, 0), np.float32)
    return np.concatenate(parts, axis=1)


class AudioSeams:
    """Encodes the joined track into ``output`` segment by segment (AAC, stereo, ``rate`` Hz)."""

    def __init__(self, output: OutputContainer, rate: int) -> None:
        self.rate = rate
        self.stream: AudioStream = output.add_stream("aac", rate=rate)
        self.stream.layout = "stereo"
        self.stream.bit_rate = _BIT_RATE
        self._half = max(1, round(CROSSFADE_SECONDS * rate / 2))
        self._held: _Samples | None = None  # the previous segment's tail, not yet written
        self._sent = 0  # samples encoded so far
        self._pending = np.zeros((_CHANNELS, 0), np.float32)  # less than one AAC frame

    def add(self, samples: _Samples) -> list[_Packet]:
        """Lay one segment's ``samples`` next, crossfaded with the one before; packets to mux."""
        half = min(self._half, samples.shape[1] // 2)
        if self._held is None:
            ready = samples
        else:
            ready = np.concatenate(
                [self._seam(self._held, samples[:, :half]), samples[:, half:]], 1
            )
        # Hold the tail back: it is crossfaded with the next segment's start.
        keep = min(self._half, ready.shape[1])
        self._held = ready[:, ready.shape[1] - keep :]
        return self._encode(ready[:, : ready.shape[1] - keep])

    def finish(self) -> list[_Packet]:
        """Write the held tail (faded out) and flush the encoder."""
        tail = self._held if self._held is not None else np.zeros((_CHANNELS, 0), np.float32)
        tail = tail.copy()
        fade = min(tail.shape[1], max(1, round(_END_FADE_SECONDS * self.rate)))
        if fade:
            tail[:, tail.shape[1] - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)
        self._held = None
        packets = self._encode(tail, flush=True)
        packets.extend(self.stream.encode(None))
        return packets

    @staticmethod
    def _seam(before: _Samples, after: _Samples) -> _Samples:
        """``before`` (the samples up to the seam) and ``after`` (those from it), crossfaded over
        a window centred on the seam; exactly as long as both together."""
        n = min(before.shape[1], after.shape[1])
        if n == 0:
            return np.concatenate([before, after], axis=1)
        a, b = before[:, before.shape[1] - n :], after[:, :n]
        # Mirrored handles: each side goes on past the seam as its own reflection.
        left = np.concatenate([a, a[:, ::-1]], axis=1)
        right = np.concatenate([b[:, ::-1], b], axis=1)
        angle = (np.arange(2 * n) + 0.5) / (2 * n) * (math.pi / 2)  # equal power: cos / sin
        mixed = left * np.cos(angle) + right * np.sin(angle)
        return np.concatenate(
            [before[:, : before.shape[1] - n], mixed.astype(np.float32), after[:, n:]], axis=1
        )

    def _encode(self, samples: _Samples, *, flush: bool = False) -> list[_Packet]:
        data = np.concatenate([self._pending, samples], axis=1)
        packets: list[_Packet] = []
        whole = data.shape[1] if flush else data.shape[1] - data.shape[1] % _BLOCK
        for start in range(0, whole, _BLOCK):
            block = np.ascontiguousarray(data[:, start : min(start + _BLOCK, whole)])
            packets.extend(self._encode_block(block))
        self._pending = data[:, whole:]
        return packets

    def _encode_block(self, block: _Samples) -> Iterator[_Packet]:
        frame = AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
        frame.sample_rate = self.rate
        frame.pts = self._sent
        frame.time_base = Fraction(1, self.rate)
        self._sent += block.shape[1]
        yield from self.stream.encode(frame)
