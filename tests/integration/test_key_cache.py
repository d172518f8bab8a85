"""The key store's one-second answers: fresh in this process, bounded staleness for others."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.tenancy.keys import CACHE_SECONDS, KeyStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _count_key_reads(engine: AsyncEngine) -> list[str]:
    reads: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM api_keys" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return reads


async def test_this_process_sees_its_own_changes_at_once(engine: AsyncEngine) -> None:
    keys = KeyStore(engine, clock=Clock())
    assert await keys.count_active() == 0
    created = await keys.create_key("a")
    assert await keys.count_active() == 1
    assert (await keys.authenticate(created.token)) is not None
    await keys.revoke_key(created.key.id)
    assert await keys.authenticate(created.token) is None
    assert await keys.count_active() == 0


async def test_another_process_changes_count_within_the_cache_time(engine: AsyncEngine) -> None:
    clock = Clock()
    api = KeyStore(engine, clock=clock)
    cli = KeyStore(engine)  # `vidgate keys ...` in another process
    created = await cli.create_key("a")
    assert (await api.authenticate(created.token)) is not None
    assert await api.count_active() == 1
    await cli.revoke_key(created.key.id)
    clock.now += CACHE_SECONDS / 2
    assert (await api.authenticate(created.token)) is not None  # still trusted, for now
    clock.now += CACHE_SECONDS
    assert await api.authenticate(created.token) is None
    assert await api.count_active() == 0


async def test_concurrent_misses_share_one_read(engine: AsyncEngine) -> None:
    clock = Clock()
    keys = KeyStore(engine, clock=clock)
    created = await keys.create_key("a")
    reads = _count_key_reads(engine)
    counts = await asyncio.gather(*(keys.count_active() for _ in range(50)))
    found = await asyncio.gather(*(keys.authenticate(created.token) for _ in range(50)))
    assert counts == [1] * 50 and all(key is not None for key in found)
    assert len(reads) == 2  # one count, one lookup
    clock.now += CACHE_SECONDS
    await asyncio.gather(*(keys.count_active() for _ in range(50)))
    assert len(reads) == 3


async def test_an_unknown_token_is_refused_without_a_read(engine: AsyncEngine) -> None:
    keys = KeyStore(engine, clock=Clock())
    reads = _count_key_reads(engine)
    assert await keys.authenticate("not-a-token") is None
    assert reads == []
