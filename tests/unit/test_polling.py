"""The poll cadence: sparse early, dense near the expected finish, learned per model from
censored observations (the end lies between the polls around it), never from the poll time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vidgate.pipeline.polling import PollCadence, task_start


def run_task(
    cadence: PollCadence, task: str, *, pending: float, seconds: float, model: str = "m"
) -> tuple[float, list[float]]:
    """Poll one emulated task (PENDING, then progress linear over ``seconds``) as the worker
    does; returns when a poll saw it done and the progress figures read before."""
    elapsed, seen = 0.0, []
    delay = cadence.next_delay(model, elapsed=0.0)
    while True:
        elapsed += delay
        if elapsed >= pending + seconds:
            cadence.finished(model, task, elapsed=elapsed)
            return elapsed, seen
        progress = max(0.0, (elapsed - pending) / seconds) if elapsed >= pending else None
        if progress is not None:
            seen.append(progress)
        delay = cadence.next_delay(model, elapsed=elapsed, progress=progress, task=task)


def test_delays_shrink_towards_the_expected_finish() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=60)
    for _ in range(5):
        cadence.observe("gen4.5", 40.0)
    delays = [cadence.next_delay("gen4.5", elapsed=t) for t in (0, 20, 30, 36, 39)]
    assert delays == sorted(delays, reverse=True)
    assert delays[0] == pytest.approx(34.0)  # most of the way to the earliest typical end
    assert delays[-1] == pytest.approx(1.0)


def test_prior_comes_from_the_speed_class_until_enough_tasks_finish() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=120)
    assert cadence.expected_seconds("veo3.1_fast", "fast") == 30.0
    cadence.observe("veo3.1_fast", 40.0)
    cadence.observe("veo3.1_fast", 44.0)
    assert cadence.expected_seconds("veo3.1_fast", "fast") == 30.0  # two slow ones: not yet
    cadence.observe("veo3.1_fast", 10.0)
    assert cadence.expected_seconds("veo3.1_fast", "fast") == 40.0
    assert cadence.expected_seconds("gen4.5") == 60.0  # other models keep their prior
    cadence.observe("gen4.5", 12.0)
    assert cadence.expected_seconds("gen4.5") == 12.0  # one faster task is enough to go down


def test_progress_predicts_the_end_and_the_next_poll_lands_just_after_it() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=120)
    # Half done after 50 s: about 50 s remain, whatever the prior said.
    assert cadence.next_delay("m", elapsed=50, progress=0.5) == pytest.approx(50.1)
    # Nearly done: the floor holds.
    assert cadence.next_delay("m", elapsed=50, progress=0.999) == 1


def test_overdue_tasks_are_polled_closely_then_backed_off() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=30)
    just_late = cadence.next_delay("m", elapsed=61)
    very_late = cadence.next_delay("m", elapsed=300)
    assert just_late < 2 < very_late <= 30


def test_throttled_tasks_wait_calmly_and_bounds_hold() -> None:
    cadence = PollCadence(min_seconds=2, max_seconds=10)
    assert cadence.next_delay("m", elapsed=0, throttled=True) == 10
    assert cadence.next_delay("m", elapsed=59.9) == 2


def test_a_model_faster_than_its_prior_is_learned_from_the_interval_not_the_poll_time() -> None:
    cadence = PollCadence(min_seconds=0.1, max_seconds=30)  # prior: 60 s
    done = [run_task(cadence, f"t{n}", pending=0.5, seconds=5)[0] for n in range(8)]
    # The first task is found late (the prior said 60 s); the estimate is not that poll time.
    assert done[0] > 20
    assert cadence.expected_seconds("m") == pytest.approx(5.5, abs=0.6)
    assert all(d < 5.5 + 0.6 for d in done[3:])  # from the third task on: just after the end


def test_a_model_slower_than_its_prior_is_learned_too() -> None:
    cadence = PollCadence(min_seconds=0.1, max_seconds=30)
    for n in range(5):
        run_task(cadence, f"t{n}", pending=0.5, seconds=90)
    assert cadence.expected_seconds("m") == pytest.approx(90.5, abs=1)


def test_a_bound_alone_lowers_the_estimate_but_never_raises_it() -> None:
    cadence = PollCadence()
    for _ in range(3):
        cadence.observe_at_most("gen4.5", 400.0)  # done by 400 s: says nothing past the prior
    assert cadence.expected_seconds("gen4.5") == 60.0
    for _ in range(5):
        cadence.observe_at_most("gen4.5", 20.0)
    assert cadence.expected_seconds("gen4.5") == 20.0


def test_with_the_emulators_task_time_the_first_poll_reads_progress_then_one_finds_it_done() -> (
    None
):
    # The worker's defaults (polls 1-30 s apart); the emulator: 0.5 s PENDING, then 5 s.
    cadence = PollCadence(prior_seconds=5.5, start_seconds=0.5)
    done, seen = run_task(cadence, "t", pending=0.5, seconds=5)
    assert len(seen) == 1 and 0 < seen[0] < 1
    assert 5.5 < done <= 5.5 + 0.15  # just after the end, not held back by the 1 s floor


def test_two_readings_give_the_rate() -> None:
    cadence = PollCadence(min_seconds=0.1, max_seconds=120)
    cadence.next_delay("m", elapsed=10, progress=0.1, task="t")  # linear from 0: 100 s
    # 0.1 -> 0.5 in 10 s: the rest takes 12.5 s, whatever the queueing before.
    assert cadence.next_delay("m", elapsed=20, progress=0.5, task="t") == pytest.approx(12.6)


def test_task_start_trusts_a_plausible_provider_timestamp_only() -> None:
    ours = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert task_start(ours, ours - timedelta(seconds=0.4)) == ours - timedelta(seconds=0.4)
    assert task_start(ours, ours + timedelta(seconds=5)) == ours  # provider clock ahead
    assert task_start(ours, ours - timedelta(hours=1)) == ours
    assert task_start(ours, None) == ours
