"""When to poll a task next: sparse early, dense near the model's expected finish.

The expected run time of each model is learned from its finished tasks (a rolling median), seeded
from the catalog's speed class until there are enough of them. The first poll comes halfway to the
expected finish; from then on the task's own progress, when the provider reports one, predicts its
end and the next poll lands just after it. Overdue tasks are polled closely.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

__all__ = ["PollCadence"]

# What a model of each speed class usually takes, until its own tasks say otherwise.
_PRIOR_SECONDS = {"fast": 30.0, "standard": 60.0, "slow": 120.0}
_WINDOW = 50  # finished tasks remembered per model
_MIN_SAMPLES = 3
_MARGIN_SECONDS = 0.25  # poll this long after the predicted end, so one GET usually finds it done


@dataclass
class PollCadence:
    """Chooses the delay before the next poll of one task."""

    min_seconds: float = 1.0
    max_seconds: float = 30.0
    _samples: dict[str, deque[float]] = field(default_factory=dict)

    def observe(self, model: str, run_seconds: float) -> None:
        """Learn from a task of ``model`` that took ``run_seconds`` from submission to its end."""
        if run_seconds > 0:
            self._samples.setdefault(model, deque(maxlen=_WINDOW)).append(run_seconds)

    def expected_seconds(self, model: str, speed: str = "standard") -> float:
        samples = self._samples.get(model)
        if samples and len(samples) >= _MIN_SAMPLES:
            return statistics.median(samples)
        return _PRIOR_SECONDS.get(speed, _PRIOR_SECONDS["standard"])

    def next_delay(
        self,
        model: str,
        *,
        elapsed: float,
        progress: float | None = None,
        speed: str = "standard",
        throttled: bool = False,
    ) -> float:
        """Seconds to wait before the next poll of a task running for ``elapsed`` seconds."""
        expected = self.expected_seconds(model, speed)
        if throttled:
            # Waiting for a slot says nothing about our own run time: check at a calm pace.
            return self._clamp(expected / 4)
        if progress is not None and 0.05 <= progress < 1:
            # The provider's progress predicts the end: poll once, just after it. (Progress is
            # counted from submission here, so any queueing time only makes the guess late.)
            remaining = elapsed * (1 - progress) / progress
            return self._clamp(remaining + _MARGIN_SECONDS)
        remaining = expected - elapsed
        if remaining > 0:
            # No progress yet: halve the distance to the expected finish, so the next reading
            # comes early enough to carry a progress figure.
            return self._clamp(remaining / 2)
        # Overdue: keep close, backing off slowly the longer it overruns.
        overrun = elapsed - expected
        return self._clamp(self.min_seconds + overrun / 10)

    def _clamp(self, seconds: float) -> float:
        return min(max(seconds, self.min_seconds), self.max_seconds)
