"""Creates that share one group commit: each caller still gets exactly its own answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.errors import BudgetExceeded, Conflict
from vidgate.jobs.models import Job, JobEvent
from vidgate.jobs.store import JobStore
from vidgate.tenancy.budgets import BudgetStore, budget_reservation
from vidgate.tenancy.keys import KeyStore


def _body(prompt: str) -> dict[str, Any]:
    return {"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": 5}


async def _create(store: JobStore, prompt: str, **kwargs: Any) -> Any:
    return await store.create_job(
        endpoint="text_to_video", model="gen4.5", request=_body(prompt), **kwargs
    )


async def _count(engine: AsyncEngine, model: type[Job] | type[JobEvent]) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(model))).scalar())


async def test_many_concurrent_creates_all_land_with_their_events(
    job_store: JobStore, engine: AsyncEngine
) -> None:
    created = await asyncio.gather(
        *(_create(job_store, f"p{i}", idempotency_key=f"k{i}") for i in range(300))
    )
    assert len({c.job.id for c in created}) == 300
    assert not any(c.existing for c in created)
    assert await _count(engine, Job) == 300
    assert await _count(engine, JobEvent) == 300
    stored = await job_store.get_job(created[123].job.id)
    assert stored.request["promptText"] == "p123"


async def test_repeats_and_conflicts_inside_one_batch(job_store: JobStore) -> None:
    first, again, other, fresh = await asyncio.gather(
        _create(job_store, "same", idempotency_key="k"),
        _create(job_store, "same", idempotency_key="k"),
        _create(job_store, "different", idempotency_key="k"),
        _create(job_store, "fresh", idempotency_key="k2"),
        return_exceptions=True,
    )
    assert not first.existing
    assert again.existing and again.job.id == first.job.id
    assert isinstance(other, Conflict)
    assert fresh.job.id != first.job.id
    # And later, from the database.
    later = await _create(job_store, "same", idempotency_key="k")
    assert later.existing and later.job.id == first.job.id


async def test_a_refused_job_does_not_stop_its_batch(
    job_store: JobStore, engine: AsyncEngine
) -> None:
    key_id = (await KeyStore(engine).create_key("tenant")).key.id
    await BudgetStore(engine).set_budget(key_id, daily=60, monthly=None)  # 2 jobs of 24, then 12

    async def create(prompt: str, credits: float) -> Any:
        return await _create(
            job_store,
            prompt,
            owner=key_id,
            estimated_credits=credits,
            admit=budget_reservation(key_id, credits, model="gen4.5"),
        )

    results = await asyncio.gather(
        create("a", 24),
        create("b", 24),
        create("c", 24),
        create("d", 12),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == [
        "CreatedJob",
        "CreatedJob",
        "BudgetExceeded",
        "CreatedJob",
    ]
    assert isinstance(results[2], BudgetExceeded)
    assert "48 reserved" in str(results[2])  # a and b, accepted earlier in the same batch
    standing = await BudgetStore(engine).standing(key_id)
    assert standing is not None and standing.day.reserved == 60


@pytest.mark.parametrize("processes", [3])
async def test_the_same_key_from_several_processes_makes_one_job(
    database_url: str, processes: int
) -> None:
    from vidgate.db.engine import create_engine

    engines = [create_engine(database_url) for _ in range(processes)]
    try:
        stores = [JobStore(engine) for engine in engines]
        results = await asyncio.gather(
            *(
                _create(stores[i % processes], "same", idempotency_key=f"race-{i // 6}")
                for i in range(60)
            )
        )
        by_key: dict[str, set[str]] = {}
        for i, created in enumerate(results):
            by_key.setdefault(f"race-{i // 6}", set()).add(created.job.id)
        assert all(len(ids) == 1 for ids in by_key.values())
        assert sum(not created.existing for created in results) == 10
    finally:
        for engine in engines:
            await engine.dispose()
