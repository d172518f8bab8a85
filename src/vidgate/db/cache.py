"""One read-through cache: answers from a slower source (the database, the provider), each kept a
while, shared by every caller of the process.

Used where an answer is asked for far more often than it changes: API keys (every request),
the provider's tier limits (every create), the provider circuit (every request and call)::

    cache: ReadThrough[str, ApiKey | None] = ReadThrough(1.0)
    key = await cache.get(digest, lambda: read_key(digest))

- An answer is trusted for ``ttl_seconds`` from when its read *started* (so it is never older
  than that); ``ttl_seconds`` may be a function of the answer, for answers that say how long they
  hold (a failed read kept only briefly, say).
- Concurrent callers missing the same key share one read: when an answer expires under load,
  every request would otherwise ask at once. One caller going away does not cancel it.
- :meth:`ReadThrough.get_within` bounds the wait: a request that must answer soon gets a fallback
  (the last answer, say) while the read goes on, and is kept when it ends.
- A read that raises is not kept; each caller waiting on it gets the error, the next caller reads
  again. To keep the last answer through a failure, catch it in ``read`` and return
  :meth:`ReadThrough.last`.
- :meth:`ReadThrough.put` keeps an answer this process just wrote; :meth:`ReadThrough.clear`
  forgets everything, including a read already under way, whose answer is then not kept.

``clock`` gives seconds (default :func:`time.monotonic`) or an aware ``datetime`` (a class whose
tests move a wall clock passes its own), read afresh on each call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

__all__ = ["ReadThrough"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: What a cache asks for the time: seconds on any fixed scale, or an aware datetime.
Clock = Callable[[], float] | Callable[[], datetime]


class ReadThrough(Generic[K, V]):
    """Answers by key, each read once and trusted for ``ttl_seconds``; see the module docstring."""

    def __init__(
        self,
        ttl_seconds: float | Callable[[V], float],
        *,
        clock: Clock = time.monotonic,
        max_entries: int = 4096,
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        # key -> (answer, when its read started, how long it is trusted)
        self._answers: dict[K, tuple[V, float, float]] = {}
        self._reads: dict[K, asyncio.Future[V]] = {}
        self._generation = 0

    def _now(self) -> float:
        now = self._clock()
        return now.timestamp() if isinstance(now, datetime) else now

    def fresh(self, key: K) -> bool:
        """Whether ``key`` has an answer still trusted now."""
        kept = self._answers.get(key)
        # A clock that stepped back makes an answer stale rather than trusted for longer.
        return kept is not None and 0 <= self._now() - kept[1] < kept[2]

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The answer for ``key``: the kept one while fresh, else ``read()`` (one at a time)."""
        if self.fresh(key):
            return self._answers[key][0]
        pending = self._reads.get(key)
        if pending is None:
            pending = self._reads[key] = asyncio.ensure_future(read())
            pending.add_done_callback(partial(self._keep, key, self._now(), self._generation))
        # Shielded: one caller going away must not cancel the read the others wait for.
        return await asyncio.shield(pending)

    async def get_within(
        self, key: K, read: Callable[[], Awaitable[V]], seconds: float, otherwise: Callable[[], V]
    ) -> V:
        """:meth:`get`, or ``otherwise()`` if the answer takes longer than ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                return await self.get(key, read)
        except TimeoutError:
            return otherwise()

    def last(self, key: K) -> V | None:
        """The last answer kept for ``key``, however old; None if there is none."""
        kept = self._answers.get(key)
        return kept[0] if kept is not None else None

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` as ``key``'s answer from now (this process just wrote it)."""
        self._store(key, value, self._now())

    def clear(self) -> None:
        """Forget every answer, and the reads under way (their answers are not kept)."""
        self._generation += 1
        self._answers.clear()
        self._reads.clear()

    def _keep(self, key: K, started: float, generation: int, done: asyncio.Future[V]) -> None:
        if generation != self._generation:
            return
        del self._reads[key]
        if done.cancelled() or done.exception() is not None:
            return
        self._store(key, done.result(), started)

    def _store(self, key: K, value: V, started: float) -> None:
        if key not in self._answers and len(self._answers) >= self._max_entries:
            self._answers.clear()  # crude, but bounded; a full cache is a cold one again
        ttl = self._ttl(value) if callable(self._ttl) else self._ttl
        self._answers[key] = (value, started, ttl)
