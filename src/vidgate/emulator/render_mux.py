"""Encoding: pictures to H.264 (libx264) and sound to AAC, muxed into one faststart MP4.

libx264 runs at its cheapest (``ultrafast``, one thread: x264's worker threads add CPU time for no
gain here): a 5 s 720p clip costs well under a second of CPU. The video has one tick per frame, so
its duration is exactly ``frames / fps``; the sound, when there is one, has exactly as many samples
as that duration holds and is interleaved with the pictures as it goes. The file is written with
its index first (:data:`vidgate.media.mp4_layout.FASTSTART`), as players that stream want.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from typing import Final

import av
import numpy as np
from av.audio.frame import AudioFrame

from vidgate.emulator.render_audio import CHANNELS, SAMPLE_RATE, Sound
from vidgate.emulator.render_caption import Caption, caption_opacity
from vidgate.emulator.render_picture import Planes
from vidgate.media.mp4_layout import FASTSTART

__all__ = ["audio_samples", "encode"]

_X264_OPTIONS: Final = {"preset": "ultrafast", "crf": "23"}
# BT.601 limited range: what swscale's default RGB->YUV conversion produces; tagged so players
# convert back with the same matrix (AVCOL_SPC/PRI/TRC_SMPTE170M, AVCOL_RANGE_MPEG).
_BT601: Final = 6
_RANGE_LIMITED: Final = 1
_AAC_BIT_RATE: Final = 128_000


def audio_samples(frames: int, fps: int) -> int:
    """How many samples cover ``frames`` pictures at ``fps``: the sound ends with the picture."""
    return round(frames * SAMPLE_RATE / fps)


def encode(
    dest: str | os.PathLike[str],
    frames: Iterator[Planes],
    *,
    width: int,
    height: int,
    fps: int,
    caption: Caption | None,
    count: int,
    fade_caption: bool,
    sound: Sound | None = None,
) -> int:
    """Write ``count`` frames (and ``sound``, if any) to the MP4 at ``dest``; frames written."""
    written = 0
    with av.open(os.fspath(dest), mode="w", format="mp4", options=dict(FASTSTART)) as container:
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
        audio = None
        blocks: Iterator[np.ndarray] = iter(())
        if sound is not None:
            audio = container.add_stream("aac", rate=SAMPLE_RATE)
            audio.layout = "stereo" if CHANNELS == 2 else "mono"
            audio.bit_rate = _AAC_BIT_RATE
            blocks = sound.blocks(audio_samples(count, fps))
        sent = 0  # audio samples encoded so far
        for index, planes in enumerate(frames):
            if caption is not None:
                caption.draw(planes, caption_opacity(index, count, fade=fade_caption))
            frame = planes.to_frame()
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
            written += 1
            if audio is not None:
                # Keep the sound level with the pictures, so the muxer interleaves them closely.
                until = audio_samples(written, fps)
                while sent < until:
                    block = next(blocks, None)
                    if block is None:
                        break
                    sent = _encode_audio(container, audio, block, sent)
        if audio is not None:
            for block in blocks:
                sent = _encode_audio(container, audio, block, sent)
            container.mux(audio.encode(None))
        container.mux(stream.encode(None))
    return written


def _encode_audio(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    block: np.ndarray,
    at: int,
) -> int:
    frame = AudioFrame.from_ndarray(
        np.ascontiguousarray(block), format="fltp", layout=stream.layout
    )
    frame.sample_rate = SAMPLE_RATE
    frame.pts = at
    frame.time_base = Fraction(1, SAMPLE_RATE)
    container.mux(stream.encode(frame))
    return at + int(block.shape[1])
