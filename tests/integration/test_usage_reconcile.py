"""Reconciling spend with the provider's usage report (vidgate.tenancy.reconcile), against the
emulator's real ``POST /v1/organization/usage``: an uncertain create that did reach the provider is
settled at its estimate, one that did not at 0, and strays are reported by day and model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import runwayml

from vidgate.clock import utcnow
from vidgate.db.engine import Transactions
from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.models import Job
from vidgate.jobs.status import FailureCode, Status
from vidgate.jobs.store import JobStore
from vidgate.provider.base import PROVIDER_WAIT_SECONDS
from vidgate.provider.runway import RunwayProvider
from vidgate.runtime import EMULATOR_API_KEY
from vidgate.tenancy.reconcile import UsageReconciler
from vidgate.tenancy.spend import sum_spend

GEN45 = {"model": "gen4.5", "prompt_text": "a lighthouse", "ratio": "1280:720", "duration": 2}
REQUEST = {"model": "gen4.5", "promptText": "a lighthouse", "ratio": "1280:720", "duration": 2}


@pytest.fixture
async def provider(emulator: EmulatorServer) -> AsyncIterator[RunwayProvider]:
    runway = RunwayProvider(api_key=EMULATOR_API_KEY, base_url=emulator.base_url)
    yield runway
    await runway.aclose()


async def create_upstream(emulator: EmulatorServer) -> None:
    """A task made on the provider directly (as a create whose answer was lost would be)."""
    client = runwayml.AsyncRunwayML(api_key="anything", base_url=emulator.base_url, max_retries=0)
    await client.text_to_video.create(**GEN45)  # type: ignore[arg-type]
    await client.close()


async def spend_of(store: JobStore, owner: str = "ak_1") -> tuple[float, float]:
    """(spent, reserved) of ``owner`` over the last hour, by the spend rule budgets use."""
    async with Transactions(store.engine).reading() as session:
        spend = await sum_spend(session, owner, utcnow() - timedelta(hours=1))
    return spend.spent, spend.reserved


async def uncertain_job(store: JobStore, owner: str = "ak_1") -> Job:
    created = await store.create_job(
        endpoint="text_to_video",
        model="gen4.5",
        request=REQUEST,
        owner=owner,
        estimated_credits=24,
    )
    return await store.update_job(
        created.job,
        expected_version=created.job.version,
        status=Status.FAILED,
        failure_code=FailureCode.SUBMISSION_UNCERTAIN,
    )


async def test_uncertain_creates_are_settled_from_the_report(
    job_store: JobStore, provider: RunwayProvider, emulator: EmulatorServer
) -> None:
    reached = await uncertain_job(job_store)
    lost = await uncertain_job(job_store)
    await create_upstream(emulator)  # one of the two reached the provider, and was charged
    reconciler = UsageReconciler(job_store.engine, provider, every_seconds=60)
    assert await spend_of(job_store) == (0, 48)  # both estimates held

    # Too recent for "not charged": the older one takes the charge, the other waits.
    first = await reconciler.reconcile()
    assert first.settled == 1 and first.unaccounted == []
    assert (await job_store.get_job(reached.id)).cost_credits == 24
    assert (await job_store.get_job(lost.id)).cost_credits is None

    later = await reconciler.reconcile(utcnow() + timedelta(seconds=61))
    assert later.settled == 1 and later.unaccounted == []
    assert (await job_store.get_job(lost.id)).cost_credits == 0
    assert await spend_of(job_store) == (24, 0)


async def test_credits_no_job_accounts_for_are_reported(
    job_store: JobStore, provider: RunwayProvider, emulator: EmulatorServer
) -> None:
    await create_upstream(emulator)
    await create_upstream(emulator)
    reconciler = UsageReconciler(job_store.engine, provider, every_seconds=60)
    found = await reconciler.current()
    [stray] = found.unaccounted
    assert (stray.day, stray.model, stray.credits) == (utcnow().date(), "gen4.5", 48)
    assert reconciler.last() is found and found.unaccounted_credits == 48


async def test_a_failing_report_is_not_waited_for_and_the_loop_settles_later(
    job_store: JobStore, provider: RunwayProvider, emulator: EmulatorServer
) -> None:
    job = await uncertain_job(job_store)
    await create_upstream(emulator)
    reconciler = UsageReconciler(job_store.engine, provider, every_seconds=0.1)
    emulator.control(http5xxRate=1.0)  # answers retried for up to two minutes
    try:
        started = asyncio.get_running_loop().time()
        unread = await reconciler.current()
        assert asyncio.get_running_loop().time() - started < PROVIDER_WAIT_SECONDS + 1
        assert not unread.read and unread.settled == 0
        assert await spend_of(job_store) == (0, 24)  # still reserved
    finally:
        emulator.control(http5xxRate=0.0)
    # Nobody asks again: the loop of a process that runs jobs settles it.
    stop = asyncio.Event()
    loop = asyncio.create_task(reconciler.run(stop))
    try:
        async with asyncio.timeout(30):
            while (await job_store.get_job(job.id)).cost_credits is None:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await loop
    assert await spend_of(job_store) == (24, 0)
