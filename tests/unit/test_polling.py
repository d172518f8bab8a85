"""The poll cadence: sparse early, dense near the expected finish, learned per model."""

from __future__ import annotations

import pytest

from vidgate.pipeline.polling import PollCadence


def test_delays_shrink_towards_the_expected_finish() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=60)
    for _ in range(5):
        cadence.observe("gen4.5", 40.0)
    delays = [cadence.next_delay("gen4.5", elapsed=t) for t in (0, 20, 30, 36, 39)]
    assert delays == sorted(delays, reverse=True)
    assert delays[0] == pytest.approx(20.0)
    assert delays[-1] == pytest.approx(1.0)


def test_prior_comes_from_the_speed_class_until_enough_tasks_finish() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=120)
    assert cadence.expected_seconds("veo3.1_fast", "fast") == 30.0
    cadence.observe("veo3.1_fast", 10.0)
    cadence.observe("veo3.1_fast", 12.0)
    assert cadence.expected_seconds("veo3.1_fast", "fast") == 30.0
    cadence.observe("veo3.1_fast", 14.0)
    assert cadence.expected_seconds("veo3.1_fast", "fast") == 12.0
    assert cadence.expected_seconds("gen4.5") == 60.0  # other models keep their prior


def test_progress_predicts_the_end_and_the_next_poll_lands_just_after_it() -> None:
    cadence = PollCadence(min_seconds=1, max_seconds=120)
    # Half done after 50 s: about 50 s remain, whatever the prior said.
    assert cadence.next_delay("m", elapsed=50, progress=0.5) == pytest.approx(50.25)
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
