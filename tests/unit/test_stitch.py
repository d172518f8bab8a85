"""Joined chains: every frame of every segment, seams that continue, sound kept and crossfaded."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray

from vidgate.emulator.render import render_video
from vidgate.media.mp4_layout import is_faststart
from vidgate.media.probe import probe_media
from vidgate.media.stitch import join_videos, last_frame_png

FPS = 24
SIZE = (320, 180)


def _chain(tmp_path: Path, seconds: list[float], *, audio: bool) -> list[Path]:
    """Segments as a chain makes them: each later one starts from the previous last picture."""
    parts: list[Path] = []
    for index, length in enumerate(seconds):
        path = tmp_path / f"segment-{index}.mp4"
        render_video(
            path,
            width=SIZE[0],
            height=SIZE[1],
            duration_seconds=length,
            fps=FPS,
            prompt_text=f"part {index}",
            first_image=last_frame_png(parts[-1]) if parts else None,
            seed=index,
            audio=audio,
        )
        parts.append(path)
    return parts


def _pictures(path: Path) -> list[NDArray[np.int16]]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def _sound(path: Path) -> NDArray[np.float32]:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def test_a_chain_keeps_every_frame_and_each_seam_continues(tmp_path: Path) -> None:
    parts = _chain(tmp_path, [10, 10, 10], audio=False)
    joined = tmp_path / "joined.mp4"
    result = join_videos(parts, joined, target_seconds=30)
    frames = _pictures(joined)
    assert result.mode == "copy"
    assert len(frames) == result.frames == 720  # 3 x 10 s x 24 fps, none lost at the seams
    info = probe_media(joined)
    assert info.frame_count == 720
    assert info.duration_seconds == pytest.approx(30, abs=1 / FPS)
    assert info.audio_codec is None  # no segment had sound
    assert is_faststart(joined)
    segments = [_pictures(p) for p in parts]
    for k in (1, 2):
        seam = 240 * k  # the first frame of segment k + 1
        before, after = segments[k - 1][-1], segments[k][0]
        # Copied bit-exact: the previous segment's last frame, then the next one's first...
        assert np.array_equal(frames[seam - 1], before)
        assert np.array_equal(frames[seam], after)
        # ...which continues that picture (the next segment started from it): much closer to
        # it than to where the previous segment began, so the comparison can fail.
        across = float(np.abs(frames[seam] - frames[seam - 1]).mean())
        elsewhere = float(np.abs(frames[seam] - frames[seam - 240]).mean())
        assert across < 6 and across * 3 < elsewhere


def test_sound_is_kept_crossfaded_and_as_long_as_the_video(tmp_path: Path) -> None:
    parts = _chain(tmp_path, [2, 2, 2], audio=True)
    joined = tmp_path / "joined.mp4"
    result = join_videos(parts, joined, target_seconds=6)
    info = probe_media(joined)
    assert (info.audio_codec, info.audio_channels, info.audio_sample_rate) == ("aac", 2, 48_000)
    assert info.frame_count == result.frames == 6 * FPS
    assert info.duration_seconds is not None and info.audio_duration_seconds is not None
    assert abs(info.audio_duration_seconds - 6.0) <= 1 / FPS
    assert result.audio_seconds == 6.0
    sound = _sound(joined)
    step = np.abs(np.diff(sound[0]))
    # The seams (2 s, 4 s) are as smooth as the rest: no click where two waveforms meet.
    typical = float(np.percentile(step, 99.9))
    for seam in (2 * 48_000, 4 * 48_000):
        around = step[seam - 2_000 : seam + 2_000]
        assert float(around.max()) <= 2 * typical
    # Each segment's own sound is still there (not silence) on each side of each seam.
    for seam in (2 * 48_000, 4 * 48_000):
        assert float(np.abs(sound[:, seam - 4_800 : seam - 2_400]).mean()) > 0.01
        assert float(np.abs(sound[:, seam + 2_400 : seam + 4_800]).mean()) > 0.01


def test_sound_survives_a_reencoded_join_and_a_segment_without_sound(tmp_path: Path) -> None:
    loud = tmp_path / "loud.mp4"
    quiet = tmp_path / "quiet.mp4"
    render_video(loud, width=320, height=180, duration_seconds=1, audio=True)
    render_video(quiet, width=160, height=90, duration_seconds=1)
    joined = tmp_path / "joined.mp4"
    result = join_videos([loud, quiet], joined)
    assert result.mode == "reencode" and result.frames == 48
    info = probe_media(joined)
    assert info.audio_codec == "aac"
    assert info.audio_duration_seconds == pytest.approx(2.0, abs=1 / FPS)
    sound = _sound(joined)
    assert float(np.abs(sound[:, 48_000 + 2_400 :]).max()) < 1e-3  # silence under the quiet one
    assert is_faststart(joined)


def test_a_declared_overlap_is_dropped_once_per_seam(tmp_path: Path) -> None:
    parts = _chain(tmp_path, [1, 1, 1], audio=True)
    joined = tmp_path / "joined.mp4"
    result = join_videos(parts, joined, overlap_frames=2)
    assert result.frames == 3 * FPS - 2 * 2
    info = probe_media(joined)
    assert info.frame_count == result.frames
    assert info.audio_duration_seconds == pytest.approx(result.frames / FPS, abs=1 / FPS)


def test_a_target_cuts_picture_and_sound_together(tmp_path: Path) -> None:
    parts = _chain(tmp_path, [1, 1], audio=True)
    joined = tmp_path / "joined.mp4"
    result = join_videos(parts, joined, target_seconds=1.5)
    info = probe_media(joined)
    assert result.frames == info.frame_count == 36
    assert info.audio_duration_seconds == pytest.approx(1.5, abs=1 / FPS)
    assert probe_media(io.BytesIO(joined.read_bytes())).audio_codec == "aac"
