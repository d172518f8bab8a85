"""The emulator's sense of time: one monotonic reading, mapped to wall-clock time for display.

Task states are computed from elapsed time on this clock, so a :class:`ManualClock` makes the
whole task lifecycle testable without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "iso_timestamp"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences matter)."""
        ...

    def wall(self, at: float | None = None) -> datetime:
        """The UTC wall-clock time of the monotonic reading ``at`` (default: now)."""
        ...


class SystemClock:
    """Real time: ``time.monotonic`` anchored to the UTC time at construction."""

    def __init__(self) -> None:
        self._mono0 = time.monotonic()
        self._wall0 = datetime.now(UTC)

    def now(self) -> float:
        return time.monotonic()

    def wall(self, at: float | None = None) -> datetime:
        at = self.now() if at is None else at
        return self._wall0 + timedelta(seconds=at - self._mono0)


class ManualClock:
    """Time that moves only when told to: ``advance(seconds)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._t = 0.0
        self._wall0 = start or datetime(2025, 1, 1, tzinfo=UTC)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def wall(self, at: float | None = None) -> datetime:
        at = self._t if at is None else at
        return self._wall0 + timedelta(seconds=at)


def iso_timestamp(when: datetime) -> str:
    """``2024-06-27T19:49:32.335Z``: the form Runway uses for ``createdAt``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
