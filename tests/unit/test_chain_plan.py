"""The chain planner and the joiner's two paths (stream copy, re-encode), on real small MP4s."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from vidgate.emulator.render import render_video
from vidgate.errors import ValidationFailed
from vidgate.media.probe import probe_media
from vidgate.media.stitch import join_videos
from vidgate.requests.chain_plan import validate_chain
from vidgate.requests.segments import plan_segments

GEN45 = tuple(range(2, 11))


@pytest.mark.parametrize(
    ("allowed", "total", "plan"),
    [
        (GEN45, 30, (10, 10, 10)),  # the example: three tasks, no more
        (GEN45, 25, (9, 8, 8)),  # reachable exactly: even lengths, longest first
        (GEN45, 10, (10,)),
        (GEN45, 1, (2,)),  # shorter than any generation: the shortest, cut to 1 s
        (GEN45, 12.5, (7, 6)),  # 13 s generated, cut to 12.5 s
        ((4, 6, 8), 25, (8, 6, 6, 6)),  # 25 unreachable: the closest cover, 26 s
        ((5, 10), 12, (10, 5)),
        ((8,), 30, (8, 8, 8, 8)),
    ],
)
def test_fewest_generations_then_closest_cover_then_even(
    allowed: tuple[int, ...], total: float, plan: tuple[int, ...]
) -> None:
    assert plan_segments(allowed, total) == plan


@pytest.mark.parametrize("total", [1, 7, 19, 30, 61, 299, 300])
def test_plans_always_cover_with_the_fewest_generations(total: int) -> None:
    for allowed in (GEN45, (4, 6, 8), (5, 10), tuple(range(3, 16))):
        plan = plan_segments(allowed, total)
        assert sum(plan) >= total and all(d in allowed for d in plan)
        assert len(plan) == -(-total // max(allowed))


def test_a_stored_chain_body_validates_to_the_same_plan() -> None:
    plan = validate_chain(
        {"model": "gen4.5", "promptText": "x", "ratio": "1280:720", "duration": 25}
    )
    again = validate_chain(plan.body)
    assert again.durations == plan.durations == (9, 8, 8)
    assert again.body == plan.body
    assert plan.estimate_credits() == 300  # 12 credits/s x 25 s


def test_every_bad_field_is_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_chain(
            {"model": "gen4.5", "promptText": "x" * 1001, "ratio": "1280:720", "duration": "long"}
        )
    assert {p.path for p in caught.value.problems} == {"duration", "promptText"}


def _clip(path: Path, seconds: float, size: tuple[int, int], seed: int) -> Path:
    render_video(path, width=size[0], height=size[1], duration_seconds=seconds, seed=seed)
    return path


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_matching_segments_are_stream_copied_to_the_exact_length(tmp_path: Path) -> None:
    parts = [_clip(tmp_path / f"{i}.mp4", 1.0, (320, 180), i) for i in range(3)]
    result = join_videos(parts, tmp_path / "joined.mp4", target_seconds=3.0)
    assert result.mode == "copy"
    assert result.frames == _frame_count(tmp_path / "joined.mp4") == 3 * 24
    assert probe_media(tmp_path / "joined.mp4").duration_seconds == pytest.approx(3.0, abs=1 / 24)
    cut = join_videos(parts, tmp_path / "cut.mp4", target_seconds=2.5)
    assert cut.frames == 60 and _frame_count(tmp_path / "cut.mp4") == 60


def test_different_segments_are_reencoded_at_the_first_size(tmp_path: Path) -> None:
    first = _clip(tmp_path / "a.mp4", 1.0, (320, 180), 1)
    second = _clip(tmp_path / "b.mp4", 1.0, (160, 90), 2)
    result = join_videos([first, second], tmp_path / "joined.mp4", target_seconds=2.0)
    assert result.mode == "reencode"
    info = probe_media(tmp_path / "joined.mp4")
    assert (info.width, info.height) == (320, 180)
    assert info.duration_seconds == pytest.approx(2.0, abs=1 / 24)
    assert _frame_count(tmp_path / "joined.mp4") == 48  # every frame of both
