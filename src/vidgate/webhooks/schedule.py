"""When a failed webhook delivery is tried again, and when it is given up.

Retries are durable (a row with ``next_attempt_at``), not a sleeping coroutine, so a restart
continues the schedule; that is why this is a small schedule and not stamina, which retries
inside one call. The delay doubles from ``base`` up to ``cap``, each multiplied by a random
factor in [0.75, 1] (jitter that spreads a burst of failures yet keeps every delay longer than
the one before until the cap). A delivery is given up once an attempt fails after ``retry_for``
has passed since the first attempt of its round, so the last attempt is at least that late.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["RetrySchedule"]

_JITTER_LOW = 0.75


@dataclass(frozen=True)
class RetrySchedule:
    #: The first retry's delay (before jitter).
    base: timedelta = timedelta(seconds=30)
    #: The longest delay between two attempts (before jitter).
    cap: timedelta = timedelta(hours=6)
    #: Retries go on at least this long after the first attempt.
    retry_for: timedelta = timedelta(hours=24)
    random: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("RetrySchedule needs 0 < base <= cap")

    def delay(self, failed_attempts: int) -> timedelta:
        """The wait after the ``failed_attempts``-th failure in a row (1 for the first)."""
        if failed_attempts < 1:
            raise ValueError("failed_attempts starts at 1")
        # Capped before the power grows huge (2**10000 seconds overflows timedelta).
        doublings = min(failed_attempts - 1, 64)
        seconds = min(self.base.total_seconds() * 2**doublings, self.cap.total_seconds())
        return timedelta(seconds=seconds * self.random.uniform(_JITTER_LOW, 1.0))

    def gives_up(self, elapsed: timedelta) -> bool:
        """True when an attempt that failed ``elapsed`` after the round's first is the last."""
        return elapsed >= self.retry_for
