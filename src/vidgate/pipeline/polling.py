"""When to poll a task next, and what its end says about the model's run time.

What a poll learns is censored: a task seen done at ``hi`` seconds after submission ended
somewhere after the last poll that saw it running (``lo``) and before ``hi``. Learning ``hi`` as
the run time (the poll time) is self-fulfilling: a cadence that polls late learns that tasks are
slow and goes on polling late. So each finished task gives a point inside ``(lo, hi]`` placed by
the progress figures it reported (their rate, when two readings exist; else linear from
submission), the midpoint without progress, and, when nothing bounds it from below, only the
bound itself: a task done by ``hi`` can lower the estimate, never raise it.

The expected run time of a model is the median of those points (a window of recent tasks); until
there are enough of them it is the prior: the emulator's configured task time in emulator mode,
else the catalog's speed class. The first poll comes at most of the way to the earliest typical
finish (a low quantile), late enough that the reading carries a progress figure strictly between
0 and 1 and early enough that most tasks are still running; from then on the progress predicts
the end and the next poll lands just after it. Overdue tasks are polled closely.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vidgate.settings import DEFAULTS

__all__ = ["PollCadence", "Reading", "task_start"]

# What a model of each speed class usually takes, until its own tasks say otherwise.
_PRIOR_SECONDS = {"fast": 30.0, "standard": 60.0, "slow": 120.0}
_WINDOW = 50  # finished tasks remembered per model
_MIN_SAMPLES = 3
_MARGIN_SECONDS = 0.1  # poll this long after the predicted end, so one GET usually finds it done
_FIRST_POLL_SHARE = 0.85  # of the earliest typical finish: the first reading is mostly RUNNING
_EARLY_QUANTILE = 0.2  # "the earliest typical finish": this quantile of the learned run times
_LATE_SECONDS = 0.3  # a step may run this long after it is due (the worker's idle wake-up)
_MIN_PROGRESS = 0.05  # below this, a progress figure is too coarse to extrapolate from
_TRACKED_TASKS = 100_000  # readings kept for tasks in flight (oldest dropped first)
_CLOCK_SKEW_SECONDS = 30.0  # a provider timestamp further off than this is not trusted


@dataclass(frozen=True)
class Reading:
    """One poll of a running task: seconds since submission, and its progress if reported."""

    elapsed: float
    progress: float | None


def task_start(submitted_at: datetime, provider_created_at: datetime | None) -> datetime:
    """When the task's clock started: the provider's ``createdAt`` if it is plausible (a little
    before our submission was recorded), else our submission time."""
    if provider_created_at is None or provider_created_at.tzinfo is None:
        return submitted_at
    if (
        submitted_at - timedelta(seconds=_CLOCK_SKEW_SECONDS)
        <= provider_created_at
        <= (submitted_at)
    ):
        return provider_created_at
    return submitted_at


@dataclass
class PollCadence:
    """Chooses the delay before the next poll of a task and learns from the tasks that end."""

    min_seconds: float = DEFAULTS.poll_min_seconds
    max_seconds: float = DEFAULTS.poll_max_seconds
    #: The run time expected of every model before its own tasks tell (emulator mode: the
    #: emulator's pending + task time); None: the catalog's speed class.
    prior_seconds: float | None = None
    #: Seconds from submission before a task's progress starts to move, when known (emulator
    #: mode: its PENDING time); 0: progress is taken as counted from submission.
    start_seconds: float = 0.0
    _samples: dict[str, deque[float]] = field(default_factory=dict)
    _readings: OrderedDict[str, tuple[Reading, ...]] = field(default_factory=OrderedDict)

    # --- learning ----------------------------------------------------------------------------

    def observe(self, model: str, run_seconds: float) -> None:
        """Learn a run time known exactly: ``run_seconds`` from submission to the task's end."""
        if run_seconds > 0:
            self._samples.setdefault(model, deque(maxlen=_WINDOW)).append(run_seconds)

    def observe_at_most(self, model: str, seconds: float, speed: str = "standard") -> None:
        """Learn from a task known only to have ended within ``seconds`` (a job's stored
        submission-to-finish time, say): it can lower the estimate, never raise it."""
        if seconds > 0:
            self.observe(model, min(seconds, self.expected_seconds(model, speed)))

    def finished(self, model: str, task: str, *, elapsed: float, speed: str = "standard") -> float:
        """A poll ``elapsed`` seconds after submission saw ``task`` done: learn the point its
        readings place its end at (see the module docstring); returns that point."""
        readings = self._readings.pop(task, ())
        running = [r for r in readings if r.elapsed < elapsed]
        if not running:
            # Ended somewhere in (0, elapsed]: the midpoint errs early, so the next first poll
            # comes sooner and reads a progress figure; and it never raises the estimate.
            point = min(elapsed / 2, self.expected_seconds(model, speed))
            self.observe(model, point)
            return point
        lo = running[-1].elapsed
        end = _predicted_end(running, self.start_seconds)
        point = (lo + elapsed) / 2 if end is None else min(max(end, lo), elapsed)
        self.observe(model, point)
        return point

    def forget(self, task: str) -> None:
        """Drop the readings of a task that ended without an end worth learning (failed...)."""
        self._readings.pop(task, None)

    def expected_seconds(self, model: str, speed: str = "standard") -> float:
        samples = self._samples.get(model)
        if samples and len(samples) >= _MIN_SAMPLES:
            return statistics.median(samples)
        if samples:  # a few tasks: enough to say the model is faster than the prior
            return min(self._prior(speed), statistics.median(samples))
        return self._prior(speed)

    def early_seconds(self, model: str, speed: str = "standard") -> float:
        """The earliest typical run time: a low quantile of the learned ones (else the prior)."""
        samples = self._samples.get(model)
        expected = self.expected_seconds(model, speed)
        if samples and len(samples) >= _MIN_SAMPLES:
            ordered = sorted(samples)
            return min(expected, ordered[int(_EARLY_QUANTILE * (len(ordered) - 1))])
        return expected

    # --- the next poll -----------------------------------------------------------------------

    def next_delay(
        self,
        model: str,
        *,
        elapsed: float,
        progress: float | None = None,
        speed: str = "standard",
        throttled: bool = False,
        task: str | None = None,
    ) -> float:
        """Seconds to wait before the next poll of a task submitted ``elapsed`` seconds ago.

        ``task`` (its id) keeps this reading, so that the next one can use the progress rate
        and the task's end can be placed between the polls around it (:meth:`finished`).
        """
        expected = self.expected_seconds(model, speed)
        if throttled:
            # Waiting for a slot says nothing about our own run time: check at a calm pace.
            if task is not None:
                self._readings.pop(task, None)  # the clock that matters starts with the slot
            return self._clamp(expected / 4)
        readings: tuple[Reading, ...] = ()
        if task is not None and elapsed > 0:
            readings = self._remember(task, Reading(elapsed, progress))
        end = _predicted_end(readings or (Reading(elapsed, progress),), self.start_seconds)
        if end is not None:
            # The provider's progress predicts the end: poll once, just after it.
            return self._clamp(end - elapsed + _MARGIN_SECONDS)
        early = self.early_seconds(model, speed)
        # Most of the way to the earliest typical end, yet early enough that the poll after it
        # (at least min_seconds later) is not held back past the end.
        latest = early - self.min_seconds - _MARGIN_SECONDS - _LATE_SECONDS
        first = max(early / 2, min(_FIRST_POLL_SHARE * early, latest))
        if elapsed < first:
            # No progress yet: come back when the task is most of the way through.
            return self._clamp(first - elapsed)
        remaining = expected - elapsed
        if remaining > 0:
            # Past the first poll without a figure: halve the distance to the expected finish.
            return self._clamp(remaining / 2)
        # Overdue: keep close, backing off slowly the longer it overruns.
        return self._clamp(self.min_seconds + (elapsed - expected) / 10)

    # --- helpers -----------------------------------------------------------------------------

    def _prior(self, speed: str) -> float:
        if self.prior_seconds is not None:
            return self.prior_seconds
        return _PRIOR_SECONDS.get(speed, _PRIOR_SECONDS["standard"])

    def _remember(self, task: str, reading: Reading) -> tuple[Reading, ...]:
        kept = (*self._readings.pop(task, ())[-1:], reading)
        self._readings[task] = kept
        while len(self._readings) > _TRACKED_TASKS:
            self._readings.popitem(last=False)
        return kept

    def _clamp(self, seconds: float) -> float:
        return min(max(seconds, self.min_seconds), self.max_seconds)


def _predicted_end(readings: tuple[Reading, ...] | list[Reading], start: float) -> float | None:
    """Seconds after submission at which the progress readings say the task ends (None: they
    say nothing). Two usable readings give the rate; one is taken as linear from ``start``
    seconds after submission (an unknown queueing time makes the guess late, never early)."""
    usable = [r for r in readings if r.progress is not None and _MIN_PROGRESS <= r.progress < 1]
    if not usable:
        return None
    last = usable[-1]
    assert last.progress is not None
    if len(usable) >= 2:
        first = usable[-2]
        assert first.progress is not None
        if last.progress > first.progress and last.elapsed > first.elapsed:
            rate = (last.progress - first.progress) / (last.elapsed - first.elapsed)
            return last.elapsed + (1 - last.progress) / rate
    begin = min(start, last.elapsed / 2)
    return begin + (last.elapsed - begin) / last.progress
