"""Budgets on real SQLite and PostgreSQL: reservation at create, settlement and refunds taken from
the jobs themselves, daily and monthly windows, replays, and concurrent creates that cannot
overspend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.db.engine import create_engine
from vidgate.errors import BudgetExceeded, NotFound, ValidationFailed
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.tenancy.budgets import BudgetStore, budget_reservation
from vidgate.tenancy.keys import KeyStore

NOW = datetime(2030, 3, 15, 12, 0, tzinfo=UTC)
BODY: dict[str, Any] = {"model": "gen4.5", "promptText": "a lighthouse", "ratio": "1280:720"}


@pytest.fixture
async def key_id(engine: AsyncEngine) -> str:
    return (await KeyStore(engine).create_key("tenant")).key.id


@pytest.fixture
def budgets(engine: AsyncEngine) -> BudgetStore:
    return BudgetStore(engine)


async def create(
    store: JobStore,
    owner: str,
    credits: float | None = 24.0,
    *,
    now: datetime = NOW,
    key: str | None = None,
    model: str = "gen4.5",
    parent_id: str | None = None,
    body: dict[str, Any] | None = None,
) -> Job:
    created = await store.create_job(
        endpoint="text_to_video",
        model=model,
        request=body or BODY,
        owner=owner,
        idempotency_key=key,
        estimated_credits=credits,
        parent_id=parent_id,
        now=now,
        admit=budget_reservation(owner, credits, model=model),
    )
    return created.job


async def finish(store: JobStore, job: Job, status: Status, cost: float | None) -> Job:
    return await store.update_job(
        job, expected_version=job.version, status=status, cost_credits=cost, now=NOW
    )


async def test_over_budget_is_refused_with_what_is_left(
    job_store: JobStore, budgets: BudgetStore, key_id: str
) -> None:
    await budgets.set_budget(key_id, daily=60, monthly=None)
    await create(job_store, key_id)
    await create(job_store, key_id)
    with pytest.raises(BudgetExceeded) as refused:
        await create(job_store, key_id)
    message = str(refused.value)
    assert "daily budget" in message and "60 credits" in message
    assert "48 reserved" in message and "12 left" in message and "needs up to 24" in message
    assert refused.value.status_code == 402
    standing = await budgets.standing(key_id, NOW)
    assert standing is not None
    assert (standing.day.spent, standing.day.reserved, standing.day.left) == (0, 48, 12)
    assert standing.day.limit == 60 and standing.month.limit is None
    # A job of another key, or without one, is not this key's budget.
    await create(job_store, "")
    assert (await job_store.count_by_status())[Status.QUEUED] == 3


async def test_settlement_counts_actual_cost_and_refunds_free_the_reservation(
    job_store: JobStore, budgets: BudgetStore, key_id: str
) -> None:
    await budgets.set_budget(key_id, daily=72, monthly=None)
    jobs = [await create(job_store, key_id) for _ in range(3)]
    with pytest.raises(BudgetExceeded):
        await create(job_store, key_id)
    # Succeeded for less than the estimate: 14 spent, 10 freed.
    await finish(job_store, jobs[0], Status.SUCCEEDED, 14)
    # Failed and cancelled with their credits refunded: both reservations freed.
    await finish(job_store, jobs[1], Status.FAILED, 0)
    await finish(job_store, jobs[2], Status.CANCELLED, None)
    standing = await budgets.standing(key_id, NOW)
    assert standing is not None
    assert (standing.day.spent, standing.day.reserved, standing.day.left) == (14, 0, 58)
    await create(job_store, key_id)
    await create(job_store, key_id)
    with pytest.raises(BudgetExceeded, match="14 spent, 48 reserved"):
        await create(job_store, key_id)
    # A cancelled job the provider charged for (it was already running) counts its charge.
    running = (await job_store.list_jobs(key_id, status=Status.QUEUED)).jobs[0]
    await finish(job_store, running, Status.CANCELLED, 24)
    standing = await budgets.standing(key_id, NOW)
    assert standing is not None
    assert (standing.day.spent, standing.day.reserved) == (38, 24)


async def test_daily_and_monthly_windows(
    job_store: JobStore, budgets: BudgetStore, key_id: str
) -> None:
    await budgets.set_budget(key_id, daily=48, monthly=96)
    yesterday = NOW - timedelta(days=1)
    last_month = NOW - timedelta(days=31)
    old = await create(job_store, key_id, now=last_month)
    await finish(job_store, old, Status.SUCCEEDED, 24)
    await create(job_store, key_id, now=yesterday)
    await create(job_store, key_id, now=yesterday)
    # Yesterday's 48 credits fill yesterday, not today; last month's count for neither.
    await create(job_store, key_id)
    await create(job_store, key_id)
    with pytest.raises(BudgetExceeded, match="daily budget"):
        await create(job_store, key_id)
    # The next day the daily budget is fresh, but the month (96) is full.
    tomorrow = NOW + timedelta(days=1)
    with pytest.raises(BudgetExceeded, match=r"monthly budget .* 96 credits: 0 spent, 96 reserved"):
        await create(job_store, key_id, now=tomorrow)
    # A new month starts afresh.
    next_month = datetime(2030, 4, 1, 0, 0, tzinfo=UTC)
    await create(job_store, key_id, now=next_month)


async def test_replays_reserve_nothing_more(
    job_store: JobStore, budgets: BudgetStore, key_id: str
) -> None:
    await budgets.set_budget(key_id, daily=48, monthly=None)
    first = await create(job_store, key_id, key="k1", body=BODY)
    again = await create(job_store, key_id, key="k1", body=BODY)
    assert again.id == first.id
    await create(job_store, key_id, key="k2")
    # The budget is full now, yet a replay still answers with its job.
    replay = await create(job_store, key_id, key="k1", body=BODY)
    assert replay.id == first.id
    with pytest.raises(BudgetExceeded):
        await create(job_store, key_id, key="k3")


async def test_unpriced_models_cannot_run_under_a_budget(
    job_store: JobStore, budgets: BudgetStore, key_id: str
) -> None:
    await create(job_store, key_id, None, model="gen4_aleph")  # no budget: fine
    await budgets.set_budget(key_id, daily=None, monthly=1000)
    with pytest.raises(BudgetExceeded, match="gen4_aleph has no known price"):
        await create(job_store, key_id, None, model="gen4_aleph")


async def test_only_top_level_jobs_count(
    job_store: JobStore, budgets: BudgetStore, key_id: str
) -> None:
    await budgets.set_budget(key_id, daily=100, monthly=None)
    parent = await create(job_store, key_id, 96)
    # A chain's segments carry their own estimates; the parent already holds the whole chain's.
    for _ in range(3):
        child = await job_store.create_job(
            endpoint="text_to_video",
            model="gen4.5",
            request=BODY,
            owner=key_id,
            estimated_credits=48,
            parent_id=parent.id,
            now=NOW,
        )
        assert child.job.parent_id == parent.id
    standing = await budgets.standing(key_id, NOW)
    assert standing is not None and standing.day.reserved == 96


async def test_setting_budgets(budgets: BudgetStore, key_id: str) -> None:
    with pytest.raises(NotFound):
        await budgets.set_budget("ak_missing", daily=1, monthly=None)
    with pytest.raises(ValidationFailed):
        await budgets.set_budget(key_id, daily=-1, monthly=None)
    budget = await budgets.set_budget(key_id, daily=10, monthly=200)
    assert budget is not None and (budget.daily_credits, budget.monthly_credits) == (10, 200)
    assert (await budgets.list_budgets())[key_id].monthly_credits == 200
    assert await budgets.set_budget(key_id, daily=None, monthly=None) is None
    assert await budgets.get_budget(key_id) is None
    assert await budgets.standing(key_id) is None
    with pytest.raises(NotFound):
        await budgets.standing("ak_missing")


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Five engines on one database: five processes, as far as locking goes."""
    made = [create_engine(database_url) for _ in range(5)]
    yield made
    for engine in made:
        await engine.dispose()


async def test_concurrent_creates_cannot_overspend(
    engines: list[AsyncEngine], budgets: BudgetStore, key_id: str
) -> None:
    await budgets.set_budget(key_id, daily=240, monthly=None)  # ten jobs of 24 credits
    stores = [JobStore(engine) for engine in engines]

    async def attempt(i: int) -> bool:
        try:
            await create(stores[i % len(stores)], key_id, key=f"req-{i}")
        except BudgetExceeded:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert results.count(True) == 10
    standing = await budgets.standing(key_id, NOW)
    assert standing is not None
    assert (standing.day.reserved, standing.day.left) == (240, 0)
