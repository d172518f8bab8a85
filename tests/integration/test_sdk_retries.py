"""The SDK-retry match inside the create transaction, on SQLite and PostgreSQL: concurrent identical
creates through an SDK surface, from one process or several, make one job and one reservation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.clock import utcnow
from vidgate.db.engine import create_engine
from vidgate.jobs.models import Job
from vidgate.jobs.sdk_retries import SdkAttempt
from vidgate.jobs.store import CreatedJob, JobStore
from vidgate.tenancy.budgets import BudgetStore, budget_reservation
from vidgate.tenancy.keys import KeyStore

WINDOW = timedelta(minutes=10)
CREDITS = 24.0
BODY = {"model": "gen4.5", "promptText": "one video", "ratio": "1280:720", "duration": 2}

#: API processes sharing the database: each has its own engine and its own group commit.
PROCESSES = 3


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[list[JobStore]]:
    engines = [create_engine(database_url) for _ in range(PROCESSES)]
    try:
        yield [JobStore(engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


async def _create(
    store: JobStore,
    owner: str,
    *,
    retry: bool,
    received_at: datetime,
    now: datetime | None = None,
    body: dict[str, Any] | None = None,
) -> CreatedJob:
    return await store.create_job(
        endpoint="text_to_video",
        model="gen4.5",
        request=body or BODY,
        owner=owner,
        estimated_credits=CREDITS,
        admit=budget_reservation(owner, CREDITS, model="gen4.5"),
        sdk=SdkAttempt(retry=retry, received_at=received_at, window=WINDOW),
        now=now,
    )


async def _budgeted_key(engine: AsyncEngine) -> str:
    key_id = (await KeyStore(engine).create_key("tenant")).key.id
    await BudgetStore(engine).set_budget(key_id, daily=10 * CREDITS, monthly=None)
    return key_id


async def _jobs(engine: AsyncEngine, owner: str) -> int:
    async with engine.connect() as connection:
        stmt = select(func.count()).select_from(Job).where(Job.owner == owner)
        return int((await connection.execute(stmt)).scalar_one())


async def test_an_original_and_its_overlapping_retries_make_one_job(
    stores: list[JobStore], engine: AsyncEngine
) -> None:
    owner = await _budgeted_key(engine)
    received = utcnow()  # the original arrived first; every retry is on its way meanwhile
    results = await asyncio.gather(
        *(
            _create(stores[i % PROCESSES], owner, retry=i > 0, received_at=received)
            for i in range(12)
        )
    )
    assert len({created.job.id for created in results}) == 1
    assert sum(not created.existing for created in results) == 1
    assert await _jobs(engine, owner) == 1
    standing = await BudgetStore(engine).standing(owner)
    assert standing is not None and standing.day.reserved == CREDITS  # one reservation


async def test_retries_alone_from_several_processes_make_one_job(
    stores: list[JobStore], engine: AsyncEngine
) -> None:
    owner = await _budgeted_key(engine)
    received = utcnow()
    results = await asyncio.gather(
        *(
            _create(stores[i % PROCESSES], owner, retry=True, received_at=received)
            for i in range(12)
        )
    )
    assert len({created.job.id for created in results}) == 1
    assert await _jobs(engine, owner) == 1
    standing = await BudgetStore(engine).standing(owner)
    assert standing is not None and standing.day.reserved == CREDITS


async def test_identical_first_tries_are_each_a_job(
    stores: list[JobStore], engine: AsyncEngine
) -> None:
    """Sent on purpose (no retry mark), identical creates are as many videos; the newest is
    the one a later retry answers."""
    owner = await _budgeted_key(engine)
    results = await asyncio.gather(
        *(
            _create(stores[i % PROCESSES], owner, retry=False, received_at=utcnow())
            for i in range(6)
        )
    )
    assert len({created.job.id for created in results}) == 6
    assert not any(created.existing for created in results)
    async with engine.connect() as connection:
        holders = list(
            await connection.scalars(
                select(Job.id).where(Job.owner == owner, Job.sdk_request_key.is_not(None))
            )
        )
    assert len(holders) == 1
    retried = await _create(stores[0], owner, retry=True, received_at=utcnow())
    assert retried.existing and retried.job.id == holders[0]


async def test_the_window_and_the_original_that_comes_after_its_retry(
    job_store: JobStore, engine: AsyncEngine
) -> None:
    owner = await _budgeted_key(engine)
    t0 = utcnow()
    # The retry overtakes its original: it makes the job, and the original answers it, once.
    made = await _create(
        job_store, owner, retry=True, received_at=t0, now=t0 + timedelta(seconds=30)
    )
    assert not made.existing and made.job.sdk_original_pending
    original = await _create(job_store, owner, retry=False, received_at=t0)
    assert original.existing and original.job.id == made.job.id
    assert not original.job.sdk_original_pending
    # Another create that arrived as early is not that job's original any more: a new job.
    other = await _create(job_store, owner, retry=False, received_at=t0)
    assert not other.existing
    # A retry within the window answers the newest; past it, a new job.
    late = t0 + timedelta(seconds=60)
    within = await _create(job_store, owner, retry=True, received_at=late, now=late)
    assert within.existing and within.job.id == other.job.id
    after = other.job.created_at + WINDOW + timedelta(seconds=1)
    past = await _create(job_store, owner, retry=True, received_at=after, now=after)
    assert not past.existing
    # Another body, another key.
    different = await _create(
        job_store, owner, retry=True, received_at=after, now=after, body={**BODY, "duration": 3}
    )
    assert not different.existing
    assert await _jobs(engine, owner) == 4


async def test_a_create_that_arrived_after_a_retrys_job_is_a_new_job(
    job_store: JobStore, engine: AsyncEngine
) -> None:
    """A retry's job is not answered to a later identical create made on purpose (the first try
    of that retry failed before any job was made, say a 429)."""
    owner = await _budgeted_key(engine)
    made = await _create(job_store, owner, retry=True, received_at=utcnow())
    later = await _create(job_store, owner, retry=False, received_at=utcnow())
    assert not later.existing and later.job.id != made.job.id
