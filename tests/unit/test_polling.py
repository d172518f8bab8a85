"""The poll cadence: sparse early, dense near the expected finish, learned per model from
censored observations (the end lies between the polls around it), never from the poll time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vidgate.pipeline.polling import PollCadence, task_start


def run_task(
    cadence: PollCadence,
    task: str,
    *,
    pending: float,
    seconds: float,
    model: str = "m",
    speed: str = "standard",
    throttled: float = 0.0,
) -> tuple[float, list[float]]:
    """Poll one emulated task (THROTTLED for ``throttled`` s, PENDING for ``pending`` s, then
    progress linear over ``seconds``) as the worker does; returns when a poll saw it done and
    the progress figures read before (None for a poll that read none)."""
    elapsed, seen = 0.0, []
    delay = cadence.next_delay(model, elapsed=0.0, speed=speed)
    while True:
        elapsed += delay
        if elapsed >= throttled + pending + seconds:
            cadence.finished(model, task, elapsed=elapsed, speed=speed)
            return elapsed, seen
        started = throttled + pending
        progress = (elapsed - started) / seconds if elapsed >= started else None
        seen.append(progress)
        delay = cadence.next_delay(
            model,
            elapsed=elapsed,
            progress=progress,
            speed=speed,
            throttled=elapsed < throttled,
            task=task,
        )


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
    # An unlearned model is first polled at a sixth of its prior (60 s): the first task was
    # done by then, and the estimate is not that poll time.
    assert done[0] == pytest.approx(10.0)
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
    assert len(seen) == 1 and 0 < (seen[0] or 0) < 1
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


# --- an unlearned model (a real provider: the prior is the speed class's guess) ---------------


def test_an_unlearned_model_is_first_polled_at_a_sixth_of_its_prior_and_not_before_5_s() -> None:
    cadence = PollCadence(min_seconds=0.1, max_seconds=60)
    assert cadence.next_delay("a", elapsed=0, speed="slow") == pytest.approx(20.0)
    assert cadence.next_delay("b", elapsed=0, speed="standard") == pytest.approx(10.0)
    # A sixth of the fast prior (30 s) is 5 s: Runway's first progress update, the floor.
    assert cadence.next_delay("c", elapsed=0, speed="fast") == pytest.approx(5.0)
    assert not cadence.learned("a")
    # Emulator mode knows its task time: nothing to guess.
    assert PollCadence(prior_seconds=20.5).learned("a")


def test_a_figure_that_leaves_a_long_way_buys_one_more_reading_then_the_rate_says_the_end() -> None:
    cadence = PollCadence()  # the worker's defaults: polls 1-30 s apart
    # 0.5 s pending, then 20 s: at 10 s the figure is 0.475, so the end is by 21.05 s (if the
    # progress ran from submission): the next poll comes half way there.
    first = cadence.next_delay("m", elapsed=10, progress=0.475, task="t")
    assert first == pytest.approx((10 / 0.475 - 10) / 2)
    # Two figures: their rate puts the end at 20.5 s; the next poll comes just after it.
    at = 10 + first
    second = cadence.next_delay("m", elapsed=at, progress=(at - 0.5) / 20, task="t")
    assert at + second == pytest.approx(20.6)


def test_a_figure_near_the_end_goes_straight_to_it() -> None:
    cadence = PollCadence()
    # 0.9 at 10 s: done by 11.1 s, too soon for another reading to say anything new.
    assert cadence.next_delay("m", elapsed=10, progress=0.9, task="t") == pytest.approx(1.21, 0.01)


def test_only_one_extra_reading_per_task() -> None:
    cadence = PollCadence(min_seconds=0.1)
    # Pending at the first poll (no figure): the next one comes as long again later...
    assert cadence.next_delay("m", elapsed=10, progress=None, task="t") == pytest.approx(10.0)
    # ...and its figure is taken as counted from then (the task had not started at 10 s), and
    # goes straight to the end: that poll was the extra one.
    assert cadence.next_delay("m", elapsed=20, progress=0.5, task="t") == pytest.approx(10.1)


@pytest.mark.parametrize("seconds", [12.0, 20.0, 25.0])
@pytest.mark.parametrize(("speed", "pending"), [("fast", 0.5), ("standard", 0.5), ("standard", 2)])
def test_a_cold_start_learns_in_one_task(speed: str, pending: float, seconds: float) -> None:
    cadence = PollCadence()  # the worker's defaults
    end = pending + seconds
    cold_done, cold_seen = run_task(cadence, "cold", pending=pending, seconds=seconds, speed=speed)
    # At most one poll more than a learned model's two; progress read on the way; found soon
    # after the end (not at the prior's 30 s: a figure extrapolated from submission errs late
    # by less than the pending time it does not know).
    assert len(cold_seen) + 1 <= 3
    assert any(p is not None and 0 < p < 1 for p in cold_seen)
    assert end < cold_done <= end + pending + 0.1
    assert cadence.learned("m")
    warm_done, warm_seen = run_task(cadence, "warm", pending=pending, seconds=seconds, speed=speed)
    assert len(warm_seen) + 1 <= 2
    assert end < warm_done <= end + 0.6


def test_the_first_hour_benchmarks_task_is_found_just_after_its_end_on_a_fresh_server() -> None:
    # 0.5 s + 20 s of gen4.5 (standard: a 60 s prior, whose end was clamped to the 30 s maximum
    # and found the task done 10 s late): read at 10 s, again 5.5 s later, then just after.
    cadence = PollCadence()
    done, seen = run_task(cadence, "t0", pending=0.5, seconds=20, model="gen4.5")
    assert len(seen) + 1 == 3 and done == pytest.approx(20.6)


def test_time_spent_throttled_is_queueing_not_run_time() -> None:
    cadence = PollCadence(min_seconds=0.1)
    done, seen = run_task(cadence, "t", throttled=40, pending=0.5, seconds=12)
    # Seen waiting at 10 and 25 s, pending at 40 s (its run counted from there), then running.
    assert seen[:3] == [None, None, None] and len(seen) <= 2 + 3
    assert 52.5 < done <= 52.5 + 0.6
    # Learned from the slot on: about 12.5 s, not the 52.5 s since submission.
    assert 12 <= cadence.expected_seconds("m") < 13


def test_run_times_stored_by_a_previous_run_make_the_model_learned() -> None:
    # What the runtime does at start with the jobs' submission-to-stored times.
    cadence = PollCadence()
    for seconds in (21.4, 21.6, 21.5):
        cadence.observe_at_most("gen4.5", seconds)
    assert cadence.learned("gen4.5")
    done, seen = run_task(cadence, "t", pending=0.5, seconds=20, model="gen4.5")
    assert len(seen) + 1 == 2 and 0 < (seen[0] or 0) < 1 and done <= 20.5 + 0.6
