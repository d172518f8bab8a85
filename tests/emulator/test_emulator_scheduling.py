"""Pure logic of the emulator, on a manual clock: slots, timings, refunds, sizes, ranges, knobs."""

from __future__ import annotations

from typing import Any

import pytest

from vidgate.catalog import Endpoint, MediaKind
from vidgate.emulator.clock import ManualClock, iso_timestamp
from vidgate.emulator.config import EmulatorConfig, failure_text
from vidgate.emulator.downloads import parse_range
from vidgate.emulator.inputs import ResolvedMedia
from vidgate.emulator.organization import Organization
from vidgate.emulator.plan import RenderPlan, plan_output
from vidgate.emulator.tasks import Task, TaskBoard, TaskStatus
from vidgate.errors import ValidationFailed
from vidgate.media.probe import MediaInfo
from vidgate.requests.generation import validate_request

PLAN = RenderPlan(width=64, height=64, duration_seconds=2.0, fps=24, seed=0)


def _task(
    clock: ManualClock,
    n: int,
    *,
    model: str = "gen4.5",
    task_seconds: float = 10,
    pending: float = 1,
    throttle: float = 0,
    failure: str | None = None,
) -> Task:
    now = clock.now()
    return Task(
        id=f"t{n}",
        model=model,
        endpoint=Endpoint.TEXT_TO_VIDEO,
        created_at=now,
        created_wall=clock.wall(now),
        eligible_at=now + throttle,
        pending_seconds=pending,
        task_seconds=task_seconds,
        estimated_credits=24,
        credits_per_second=12,
        plan=PLAN,
        failure_code=failure,
        failure=failure_text(failure) if failure else None,
    )


def _limit(n: int | None) -> Any:
    return lambda model: n


def test_statuses_follow_the_clock_and_wait_for_the_output_file() -> None:
    clock, board = ManualClock(), TaskBoard()
    task = _task(clock, 1)
    board.add(task)
    assert [t.id for t in board.advance(clock.now(), _limit(1)).started] == ["t1"]
    assert task.status_at(clock.now()) is TaskStatus.PENDING
    clock.advance(6)  # 1 s pending, then 5 of 10 s running
    assert task.status_at(clock.now()) is TaskStatus.RUNNING
    assert task.progress_at(clock.now()) == 0.5
    clock.advance(10)
    assert task.status_at(clock.now()) is TaskStatus.RUNNING  # no output file yet
    assert task.progress_at(clock.now()) == 1.0
    board.render_finished(task, clock.now(), None)
    assert task.status_at(clock.now()) is TaskStatus.SUCCEEDED
    assert [t.id for t in board.advance(clock.now(), _limit(1)).ended] == ["t1"]
    assert task.final_cost() == 24


def test_slots_are_given_in_submission_order_at_the_instant_they_free() -> None:
    clock, board = ManualClock(), TaskBoard()
    tasks = [_task(clock, n, failure="INTERNAL") for n in range(3)]  # fail on time: no renders
    for task in tasks:
        board.add(task)
    board.advance(clock.now(), _limit(1))
    assert [t.status_at(0) for t in tasks] == [TaskStatus.PENDING] + [TaskStatus.THROTTLED] * 2
    assert board.next_event(0, _limit(1)) == 11  # the first ends at 1 + 10
    clock.advance(25)  # nobody looked in between
    started = board.advance(clock.now(), _limit(1)).started
    assert [t.id for t in started] == ["t1", "t2"]
    assert (tasks[1].slot_at, tasks[2].slot_at) == (11, 22)  # back-dated, not "now"
    assert tasks[1].status_at(25) is TaskStatus.FAILED
    assert tasks[2].status_at(25) is TaskStatus.RUNNING


def test_early_failures_fail_when_the_task_would_start_running() -> None:
    clock, board = ManualClock(), TaskBoard()
    early = _task(clock, 1, failure="SAFETY.INPUT.TEXT")
    late = _task(clock, 2, failure="SAFETY.OUTPUT.VIDEO")
    for task in (early, late):
        board.add(task)
    board.advance(0, _limit(None))
    assert (early.end_at, late.end_at) == (1, 11)


def test_cancelling_frees_the_slot_and_refunds_only_before_running() -> None:
    clock, board = ManualClock(), TaskBoard()
    first, second, third = (_task(clock, n) for n in range(3))
    for task in (first, second, third):
        board.add(task)
    board.advance(0, _limit(1))
    assert board.cancel(third, 0) is TaskStatus.THROTTLED
    assert third.final_cost() == 0
    clock.advance(3)
    assert board.cancel(first, 3) is TaskStatus.RUNNING
    assert first.final_cost() == 24
    assert [t.id for t in board.advance(3, _limit(1)).started] == ["t1"]
    assert second.slot_at == 3


def test_throttle_seconds_keep_a_task_throttled_even_with_free_slots() -> None:
    clock, board = ManualClock(), TaskBoard()
    task = _task(clock, 1, throttle=5)
    board.add(task)
    board.advance(0, _limit(None))
    assert task.status_at(0) is TaskStatus.THROTTLED
    assert board.next_event(0, _limit(None)) == 5
    board.advance(5, _limit(None))
    assert task.status_at(5) is TaskStatus.PENDING


def test_forcing_an_outcome_ends_a_throttled_task_at_once() -> None:
    clock, board = ManualClock(), TaskBoard()
    first, second = _task(clock, 1), _task(clock, 2)
    board.add(first)
    board.add(second)
    board.advance(0, _limit(1))
    board.force_end(second, 0, failure=("ASSET.INVALID", "bad"))
    assert second.status_at(0) is TaskStatus.FAILED
    board.force_end(first, 0, failure=None)
    assert first.needs_render is True
    first.render_submitted = True
    board.render_finished(first, 0.5, None)
    assert first.status_at(0.5) is TaskStatus.SUCCEEDED


def test_daily_window_is_rolling() -> None:
    org = Organization(100)
    org.record_generation("gen4.5", 0)
    org.record_generation("gen4.5", 100)
    assert org.retry_after("gen4.5", 200, 3) is None
    assert org.retry_after("gen4.5", 200, 2) == 86_400 - 200
    assert org.retry_after("gen4.5", 86_401, 2) is None
    assert org.generations_today("gen4.5", 86_401) == 1


def test_usage_sums_charges_and_refunds_by_day_and_model() -> None:
    clock, org = ManualClock(), Organization(1000)
    org.charge("gen4.5", 120, clock.wall())
    org.refund("gen4.5", 60, clock.wall(86_400))
    org.charge("veo3.1", 80, clock.wall(86_400))
    day0, day1 = clock.wall().date(), clock.wall(86_400).date()
    usage = org.usage(day0, day1.replace(day=day1.day + 1))
    assert usage == {
        "models": ["gen4.5", "veo3.1"],
        "results": [
            {"date": day0.isoformat(), "usedCredits": [{"model": "gen4.5", "amount": 120}]},
            {
                "date": day1.isoformat(),
                "usedCredits": [
                    {"model": "gen4.5", "amount": -60},
                    {"model": "veo3.1", "amount": 80},
                ],
            },
        ],
    }
    assert org.credit_balance == 860
    assert iso_timestamp(clock.wall(1.5)) == "2025-01-01T00:00:01.500Z"


def _media(path: str, kind: MediaKind, width: int, height: int, seconds: float | None) -> Any:
    info = MediaInfo(kind, "x", "image/png", width, height, seconds)
    return ResolvedMedia(path, "data:", b"", info)


@pytest.mark.parametrize(
    ("endpoint", "body", "media", "expected"),
    [
        (
            "text_to_video",
            {"promptText": "a", "ratio": "1280:720", "duration": 3},
            {},
            (1280, 720, 3),
        ),
        (
            "image_to_video",
            {"model": "seedance2", "promptImage": "data:image/png;base64,AA==", "duration": "auto"},
            {"promptImage": ("image", 333, 500, None)},
            (334, 500, 5),  # follows the image (made even); auto: the 5 s default
        ),
        (
            "video_to_video",
            {
                "model": "aleph2",
                "videoUri": "data:video/mp4;base64,AA==",
                "targetAspectRatio": "1:1",
            },
            {"videoUri": ("video", 640, 360, 2.5)},
            (360, 360, 2.5),  # an aspect at the input's short side; the input's length
        ),
        (
            "video_to_video",
            {"model": "seedance2", "promptVideo": "data:video/mp4;base64,AA==", "duration": "auto"},
            {"promptVideo": ("video", 3840, 2160, 20.0)},
            (1920, 1080, 15),  # a large input is followed at 1080p; clamped to 15 s
        ),
        (
            "image_to_video",
            {"model": "veo3.1", "promptImage": "data:image/png;base64,AA==", "ratio": "720:1280"},
            {"promptImage": ("image", 100, 100, None)},
            (720, 1280, 6),  # no duration: the 5 s default, nearest allowed is 6
        ),
    ],
    ids=["pixels", "follow-image", "aspect", "follow-video", "discrete-durations"],
)
def test_output_size_and_length(
    endpoint: str,
    body: dict[str, Any],
    media: dict[str, tuple[str, int, int, float | None]],
    expected: tuple[int, int, float],
) -> None:
    request = validate_request(endpoint, {"model": "gen4.5", **body})
    resolved = {
        path: _media(path, MediaKind(kind), w, h, s) for path, (kind, w, h, s) in media.items()
    }
    plan = plan_output(request, resolved, fps=24, seed=1)
    assert (plan.width, plan.height, plan.duration_seconds) == expected


def test_ranges() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=50-500", 100) == (50, 99)
    assert parse_range("bytes=100-", 100) is False
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file


def test_config_knobs_by_either_name_and_failure_texts() -> None:
    config = EmulatorConfig().updated({"taskSeconds": 2, "fail_rate": 0.5})
    assert (config.task_seconds, config.fail_rate) == (2, 0.5)
    with pytest.raises(ValidationFailed) as raised:
        EmulatorConfig().updated({"http429Rate": 0.7, "http5xxRate": 0.7})
    assert "must not exceed 1" in str(raised.value)
    assert failure_text("SAFETY.INPUT.IMAGE") == "An input image did not pass content moderation."
    assert failure_text("SAFETY.OUTPUT.AUDIO").startswith("The generated video")
    assert failure_text("NEW.CODE") == "The task failed (NEW.CODE)."
