"""The read-through cache (vidgate.db.cache): kept answers, shared reads, failures not kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from vidgate.db.cache import ReadThrough


class Reads:
    """A source that counts its reads and answers with the count."""

    def __init__(self) -> None:
        self.count = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> int:
        self.count += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise OSError("down")
        return self.count


async def test_an_answer_is_kept_for_its_ttl_from_when_its_read_started() -> None:
    now = [100.0]
    cache: ReadThrough[str, int] = ReadThrough(1.0, clock=lambda: now[0])
    reads = Reads()
    assert await cache.get("a", reads) == 1
    now[0] += 0.9
    assert await cache.get("a", reads) == 1
    now[0] += 0.1
    assert await cache.get("a", reads) == 2
    now[0] -= 5  # a clock that stepped back: stale, not trusted for longer
    assert await cache.get("a", reads) == 3


async def test_concurrent_misses_share_one_read_and_clear_drops_it() -> None:
    cache: ReadThrough[str, int] = ReadThrough(60.0)
    reads = Reads()
    reads.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(cache.get("a", reads)) for _ in range(20)]
    await asyncio.sleep(0)
    reads.gate.set()
    assert await asyncio.gather(*waiting) == [1] * 20
    assert reads.count == 1
    cache.clear()
    assert await cache.get("a", reads) == 2


async def test_a_failed_read_is_not_kept_and_the_last_answer_stays_visible() -> None:
    now = [0.0]
    cache: ReadThrough[str, int] = ReadThrough(1.0, clock=lambda: now[0])
    reads = Reads()
    assert await cache.get("a", reads) == 1
    now[0] += 2
    reads.fail = True
    with pytest.raises(OSError):
        await cache.get("a", reads)
    assert cache.last("a") == 1 and not cache.fresh("a")
    reads.fail = False
    assert await cache.get("a", reads) == 3


async def test_ttl_from_the_answer_a_datetime_clock_and_put() -> None:
    wall = [datetime(2026, 1, 1, tzinfo=UTC)]
    cache: ReadThrough[None, int] = ReadThrough(
        lambda n: 10.0 if n > 0 else 1.0, clock=lambda: wall[0]
    )
    cache.put(None, 0)
    assert cache.fresh(None)
    wall[0] += timedelta(seconds=1)
    assert not cache.fresh(None)
    cache.put(None, 5)
    wall[0] += timedelta(seconds=9)
    assert cache.fresh(None) and await cache.get(None, Reads()) == 5


async def test_the_number_of_answers_is_bounded() -> None:
    cache: ReadThrough[int, int] = ReadThrough(60.0, max_entries=3)
    for key in range(10):
        cache.put(key, key)
    assert sum(cache.last(key) is not None for key in range(10)) <= 3


async def test_get_within_answers_the_fallback_and_keeps_the_late_read() -> None:
    cache: ReadThrough[str, int] = ReadThrough(60.0)
    reads = Reads()
    reads.gate = asyncio.Event()
    assert await cache.get_within("a", reads, 0.05, lambda: -1) == -1
    assert reads.count == 1  # the read goes on, shared by the next caller
    assert await cache.get_within("a", reads, 0.05, lambda: -1) == -1
    reads.gate.set()
    assert await cache.get_within("a", reads, 1.0, lambda: -1) == 1
    assert reads.count == 1 and cache.fresh("a")
