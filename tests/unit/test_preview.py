"""Previews: a short, small, looping animated WebP of a video's start."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidgate.emulator.render import render_video
from vidgate.errors import MediaRejected
from vidgate.media.preview import PREVIEW_FPS, PREVIEW_SECONDS, PREVIEW_WIDTH, make_preview


def test_a_preview_is_a_small_looping_animation_of_the_start(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    render_video(video, width=1280, height=720, duration_seconds=5, prompt_text="a kite")
    data = make_preview(video)
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with Image.open(io.BytesIO(data)) as preview:
        assert preview.is_animated
        assert preview.n_frames == round(PREVIEW_SECONDS * PREVIEW_FPS)
        assert preview.size == (PREVIEW_WIDTH, 180)
        assert preview.info.get("loop") == 0
        preview.seek(0)
        first = np.asarray(preview.convert("RGB"), dtype=np.int16)
        preview.seek(preview.n_frames - 1)
        last = np.asarray(preview.convert("RGB"), dtype=np.int16)
        assert float(np.abs(first - last).mean()) > 2  # it moves
    assert len(data) < 400_000


def test_a_short_video_gives_as_many_frames_as_it_has(tmp_path: Path) -> None:
    video = tmp_path / "short.mp4"
    render_video(video, width=160, height=90, duration_seconds=0.5)
    with Image.open(io.BytesIO(make_preview(video))) as preview:
        assert preview.n_frames == round(0.5 * PREVIEW_FPS)
        assert preview.size == (160, 90)  # never scaled up


def test_not_a_video() -> None:
    with pytest.raises(MediaRejected):
        make_preview(b"not a video at all", field="output")
