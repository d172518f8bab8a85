"""A token bucket per API key: ``rate`` requests per second on average, ``burst`` at once.

In memory and per process: good enough to stop one key from starving the others; a deployment
with several API processes divides the rate between them. :meth:`RateLimiter.admit` is the one
check every surface's caller goes through (429 with ``Retry-After``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vidgate.errors import RateLimited

__all__ = ["RateLimiter"]

_MAX_BUCKETS = 100_000  # forget idle buckets past this many (they are full again anyway)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``take(key)`` returns 0 when a request may go ahead, else the seconds until it may."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        refused: Callable[[], None] | None = None,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        #: Called for each refused request (the metrics count them).
        self._refused = refused

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def admit(self, key: str) -> None:
        """Take one request of ``key``'s; RateLimited (429, ``Retry-After``) when over its rate."""
        wait = self.take(key)
        if wait > 0:
            if self._refused is not None:
                self._refused()
            raise RateLimited(
                f"too many requests for this API key (limit {self.rate:g}/s); "
                f"retry in {wait:.1f} s",
                retry_after=wait,
            )

    def take(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
