"""When to poll a task next, and what its end says about the model's run time.

What a poll learns is censored: a task seen done at ``hi`` seconds after submission ended
somewhere after the last poll that saw it running (``lo``) and before ``hi``. Learning ``hi`` as
the run time (the poll time) is self-fulfilling: a cadence that polls late learns that tasks are
slow and goes on polling late. So each finished task gives a point inside ``(lo, hi]`` placed by
the progress figures it reported (their rate, when two readings exist; else linear from the
start), the midpoint without progress, and, when nothing bounds it from below, only the bound
itself: a task done by ``hi`` can lower the estimate, never raise it. Time a task spent
THROTTLED (waiting for a slot of its model's concurrency) is queueing, not run time: the run is
counted from the last poll that saw it waiting.

The expected run time of a model is the median of those points (a window of recent tasks); until
there are enough of them it is the prior: the emulator's configured task time in emulator mode,
else the catalog's speed class. A model is *learned* once one of its tasks has finished (or the
prior is known): the first poll comes most of the way to the earliest typical finish (a low
quantile), late enough that the reading carries a progress figure strictly between 0 and 1 and
early enough that most tasks are still running; from then on the progress predicts the end and
the next poll lands just after it: two polls a task.

An unlearned model's prior is only a guess, so its tasks are polled early (a sixth of the prior,
and not before Runway's first progress update, about 5 s) and, when the figure read leaves a long
way to go, once more at least 5 s later (Runway updates progress no faster than that), so that
the rate of two figures, not a guess at when the task started, predicts the end: at most one
extra poll a task, three in all, until one task has finished and taught the model its run time.
A figure read at ``t`` says the end comes by ``t / progress`` at the latest (linear progress that
started at or after submission), which bounds how far on that poll may go.
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
_TRACKED_TASKS = 100_000  # tasks in flight whose polls are remembered (oldest dropped first)
_CLOCK_SKEW_SECONDS = 30.0  # a provider timestamp further off than this is not trusted
# Runway updates a task's progress no faster than this (its SDK says so): a poll sooner after the
# start, or after another poll, may read nothing new.
_UPDATE_SECONDS = 5.0
_COLD_FIRST_SHARE = 1 / 6  # of the prior: an unlearned model's first poll


@dataclass(frozen=True)
class Reading:
    """One poll of a running task: seconds since submission, and its progress if reported."""

    elapsed: float
    progress: float | None


@dataclass
class _Track:
    """What the polls of one task in flight have seen (seconds since submission)."""

    readings: tuple[Reading, ...] = ()  # the last two with a usable progress figure
    last_seen: float | None = None  # the last poll that saw it not done
    not_before: float = 0.0  # its progress had not started by then (pending, no figure yet)
    queued: float = 0.0  # its run is counted from here: the first poll after it was THROTTLED
    throttled: bool = False  # the last poll saw it THROTTLED
    polls: int = 0  # polls since it got its slot


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
    #: emulator's pending + task time); None: the catalog's speed class, a guess.
    prior_seconds: float | None = None
    #: Seconds from submission before a task's progress starts to move, when known (emulator
    #: mode: its PENDING time); 0: progress is taken as counted from submission.
    start_seconds: float = 0.0
    _samples: dict[str, deque[float]] = field(default_factory=dict)
    _tracks: OrderedDict[str, _Track] = field(default_factory=OrderedDict)

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
        """A poll ``elapsed`` seconds after submission saw ``task`` done: learn the run time its
        polls place its end at (see the module docstring); returns that run time."""
        track = self._tracks.pop(task, None) or _Track()
        readings = tuple(r for r in track.readings if r.elapsed < elapsed)
        lo = track.last_seen if track.last_seen is not None and track.last_seen < elapsed else None
        queued = track.queued
        if track.throttled and lo is not None:
            # Done before a poll saw it leave the queue: its whole run came after ``lo``.
            queued, lo = lo, None
        end = _predicted_end(readings, self._begin(track, readings))
        if lo is None:
            # Ended somewhere in its run: the midpoint errs early, so the next first poll comes
            # sooner and reads a progress figure; and it never raises the estimate.
            run = min((elapsed - queued) / 2, self.expected_seconds(model, speed))
        elif end is None:
            run = (lo + elapsed) / 2 - queued
        else:
            run = min(max(end, lo), elapsed) - queued
        self.observe(model, run)
        return run

    def forget(self, task: str) -> None:
        """Drop the polls of a task that ended without an end worth learning (failed...)."""
        self._tracks.pop(task, None)

    def learned(self, model: str) -> bool:
        """Whether the run time of ``model`` is known (from a finished task, or given), rather
        than guessed from its speed class."""
        return self.prior_seconds is not None or bool(self._samples.get(model))

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

        ``task`` (its id) keeps what this poll read, so that the next one can use the progress
        rate and the task's end can be placed between the polls around it (:meth:`finished`).
        """
        expected = self.expected_seconds(model, speed)
        track = self._track(task) if task is not None and elapsed > 0 else _Track()
        if throttled:
            # Waiting for a slot says nothing about the run time: check at a calm pace, and
            # count the run from the slot.
            track.readings, track.polls, track.throttled = (), 0, True
            track.not_before = track.last_seen = elapsed
            return self._clamp(expected / 4)
        if track.throttled:
            # It got its slot since the last poll: its run is counted from now (the run time
            # learned errs short, which makes the next first poll come early, not late).
            track.queued, track.throttled = elapsed, False
        self._read(track, Reading(elapsed, progress))
        learned = self.learned(model)
        end = _predicted_end(track.readings, self._begin(track, track.readings))
        if end is not None:
            if not learned and task is not None and track.polls == 1:
                # The model's run time is a guess: one more reading, far enough on for a rate.
                step = min(
                    max(_UPDATE_SECONDS, (end - elapsed) / 2),
                    max(_UPDATE_SECONDS, elapsed - track.queued),
                )
                if elapsed + step + self.min_seconds <= end:
                    return self._clamp(step)
            # The provider's progress predicts the end: poll once, just after it.
            return self._clamp(end - elapsed + _MARGIN_SECONDS)
        run = elapsed - track.queued
        if not learned:
            first = max(_UPDATE_SECONDS, _COLD_FIRST_SHARE * expected)
            if run < first:
                return self._clamp(first - run)
            if run < expected:
                # Still no figure to go by (pending, or one too small): wait as long again, but
                # not past half way to the prior.
                return self._clamp(min(max(_UPDATE_SECONDS, run), (expected - run) / 2))
        early = self.early_seconds(model, speed)
        # Most of the way to the earliest typical end, yet early enough that the poll after it
        # (at least min_seconds later) is not held back past the end.
        latest = early - self.min_seconds - _MARGIN_SECONDS - _LATE_SECONDS
        first = max(early / 2, min(_FIRST_POLL_SHARE * early, latest))
        if run < first:
            # No progress yet: come back when the task is most of the way through.
            return self._clamp(first - run)
        remaining = expected - run
        if remaining > 0:
            # Past the first poll without a figure: halve the distance to the expected finish.
            return self._clamp(remaining / 2)
        # Overdue: keep close, backing off slowly the longer it overruns.
        return self._clamp(self.min_seconds + (run - expected) / 10)

    # --- helpers -----------------------------------------------------------------------------

    def _prior(self, speed: str) -> float:
        if self.prior_seconds is not None:
            return self.prior_seconds
        return _PRIOR_SECONDS.get(speed, _PRIOR_SECONDS["standard"])

    def _track(self, task: str) -> _Track:
        track = self._tracks.pop(task, None) or _Track()
        self._tracks[task] = track
        while len(self._tracks) > _TRACKED_TASKS:
            self._tracks.popitem(last=False)
        return track

    @staticmethod
    def _read(track: _Track, reading: Reading) -> None:
        track.polls += 1
        track.last_seen = reading.elapsed
        progress = reading.progress
        if progress is not None and _MIN_PROGRESS <= progress < 1:
            track.readings = (*track.readings[-1:], reading)
        elif (progress is None or progress <= 0) and not track.readings:
            track.not_before = reading.elapsed  # pending, or running with nothing done yet

    def _begin(self, track: _Track, readings: tuple[Reading, ...]) -> float:
        """Seconds after submission from which one reading's progress is taken as linear: the
        known start (emulator mode) but at most half way to the reading, or later if a poll
        saw the task not yet started."""
        if not readings:
            return 0.0
        known = track.queued + min(self.start_seconds, (readings[-1].elapsed - track.queued) / 2)
        return max(known, track.not_before)

    def _clamp(self, seconds: float) -> float:
        return min(max(seconds, self.min_seconds), self.max_seconds)


def _predicted_end(readings: tuple[Reading, ...], begin: float) -> float | None:
    """Seconds after submission at which the progress readings say the task ends (None: they
    say nothing). Two readings give the rate; one is taken as linear from ``begin`` (an unknown
    start makes the guess late, never early)."""
    if not readings:
        return None
    last = readings[-1]
    assert last.progress is not None
    if len(readings) >= 2:
        first = readings[-2]
        assert first.progress is not None
        if last.progress > first.progress and last.elapsed > first.elapsed:
            rate = (last.progress - first.progress) / (last.elapsed - first.elapsed)
            return last.elapsed + (1 - last.progress) / rate
    begin = min(begin, last.elapsed)
    return begin + (last.elapsed - begin) / last.progress
