"""Tier limits kept before submitting, on real SQLite and PostgreSQL, with the emulator as a real
HTTP server and the official SDK as the client: the emulator is given low limits through its control
endpoint and reports, in its stats, how many tasks were ever alive at once and how many had to wait
THROTTLED."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.catalog import get_catalog
from vidgate.db.engine import create_engine
from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore, SubmitSlots
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.polling import PollCadence
from vidgate.pipeline.runner import Pipeline
from vidgate.pipeline.worker import Worker
from vidgate.provider.limits import ProviderLimits
from vidgate.provider.runway import RunwayProvider
from vidgate.runtime import EMULATOR_API_KEY
from vidgate.storage import Storage

GEN45 = {
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk",
    "ratio": "1280:720",
    "duration": 2,
}
CONCURRENCY_WAIT = "waiting: gen4.5 is at its tier limit of 2 concurrent generations"


@pytest.fixture
def emulator(emulator: EmulatorServer) -> EmulatorServer:
    emulator.control(taskSeconds=0.5)  # long enough to see tasks overlap
    return emulator


@dataclass
class Node:
    """One worker process's worth of vidgate: its own engine, provider, limits and worker."""

    store: JobStore
    pipeline: Pipeline
    worker: Worker
    provider: RunwayProvider


@contextlib.asynccontextmanager
async def node(database_url: str, emulator: EmulatorServer, media: Path) -> AsyncIterator[Node]:
    engine = create_engine(database_url)
    provider = RunwayProvider(
        api_key=EMULATOR_API_KEY, base_url=emulator.base_url, retry_timeout=20.0
    )
    store = JobStore(engine)
    pipeline = Pipeline(
        StepContext(
            store=store,
            provider=provider,
            storage=Storage.from_url(media.as_uri()),
            catalog=get_catalog(),
            cadence=PollCadence(min_seconds=0.1, max_seconds=0.3),
            limits=ProviderLimits(provider, refresh_seconds=0.5, retry_seconds=0.1),
        )
    )
    try:
        yield Node(store, pipeline, Worker(pipeline, idle_seconds=0.05), provider)
    finally:
        await provider.aclose()
        await engine.dispose()


async def submit(store: JobStore, count: int) -> list[Job]:
    return [
        (
            await store.create_job(
                endpoint="text_to_video", model="gen4.5", request=GEN45, estimated_credits=24
            )
        ).job
        for _ in range(count)
    ]


async def run_until(
    store: JobStore,
    workers: list[Worker],
    done: Any,
    *,
    timeout: float = 60.0,
) -> set[str]:
    """Run the workers until ``done(jobs)``; returns every status_reason and lease owner seen."""
    reasons: set[str] = set()
    stop = asyncio.Event()
    runners = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        async with asyncio.timeout(timeout):
            while True:
                jobs = (await store.list_jobs(None, limit=100)).jobs
                reasons |= {j.status_reason or "" for j in jobs}
                reasons |= {f"leased by {j.lease_owner}" for j in jobs if j.lease_owner}
                if done(jobs):
                    return reasons
                await asyncio.sleep(0.03)
    finally:
        stop.set()
        await asyncio.gather(*runners)


def all_ended(jobs: list[Job]) -> bool:
    return all(j.status.is_terminal for j in jobs)


async def test_concurrency_limit_is_kept_locally(
    database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.control(concurrency={"gen4.5": 2})
    async with node(database_url, emulator, tmp_path) as one:
        jobs = await submit(one.store, 7)
        reasons = await run_until(one.store, [one.worker], all_ended)
        done = [await one.store.get_job(j.id) for j in jobs]
    assert all(j.status is Status.SUCCEEDED for j in done), [j.status_reason for j in done]
    stats = emulator.stats()
    assert stats["tasksCreated"]["total"] == 7
    assert stats["peakLiveTasks"]["gen4.5"] == 2  # the limit was used, never exceeded
    assert stats["throttledTasks"] == 0  # no task ever waited THROTTLED upstream
    assert CONCURRENCY_WAIT in reasons  # and the waiting jobs said why


async def test_two_workers_on_one_database_share_the_cap(
    database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.control(concurrency={"gen4.5": 2})
    async with (
        node(database_url, emulator, tmp_path / "a") as a,
        node(database_url, emulator, tmp_path / "b") as b,
    ):
        jobs = await submit(a.store, 10)
        seen = await run_until(a.store, [a.worker, b.worker], all_ended, timeout=90)
        done = [await a.store.get_job(j.id) for j in jobs]
    assert all(j.status is Status.SUCCEEDED for j in done), [j.status_reason for j in done]
    stats = emulator.stats()
    assert stats["tasksCreated"]["total"] == 10
    assert stats["peakLiveTasks"]["gen4.5"] <= 2
    assert stats["throttledTasks"] == 0
    # Both workers took part.
    assert {f"leased by {w.worker_id}" for w in (a.worker, b.worker)} <= seen


async def test_daily_limit_queues_instead_of_429(
    database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.control(dailyLimit={"gen4.5": 3})
    async with node(database_url, emulator, tmp_path) as one:
        jobs = await submit(one.store, 5)

        def three_done_two_waiting(current: list[Job]) -> bool:
            succeeded = [j for j in current if j.status is Status.SUCCEEDED]
            waiting = [
                j
                for j in current
                if j.status is Status.QUEUED and "generations a day" in (j.status_reason or "")
            ]
            return len(succeeded) == 3 and len(waiting) == 2

        await run_until(one.store, [one.worker], three_done_two_waiting)
        # Later looks (every 0.5 s) keep them waiting: the provider is never asked past its limit.
        with contextlib.suppress(TimeoutError):
            await run_until(one.store, [one.worker], lambda _: False, timeout=1.5)
        waiting = [await one.store.get_job(j.id) for j in jobs]
    stats = emulator.stats()
    assert stats["tasksCreated"]["total"] == 3
    assert "429" not in stats["responsesByStatus"]
    reasons = {j.status_reason for j in waiting if j.status is Status.QUEUED}
    assert reasons == {
        "waiting: gen4.5 reached its tier limit of 3 generations a day (rolling 24 h); "
        "vidgate checks again every 0.5 s"
    }


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Four engines on one database: four worker processes, as far as locking goes."""
    made = [create_engine(database_url) for _ in range(4)]
    yield made
    for engine in made:
        await engine.dispose()


async def test_submission_slots_are_taken_atomically(engines: list[AsyncEngine]) -> None:
    stores = [JobStore(engine) for engine in engines]
    jobs = await submit(stores[0], 24)

    def admit(slots: SubmitSlots) -> str | None:
        return None if slots.active < 3 else "full"

    async def begin(i: int, job: Job) -> bool:
        _, reason = await stores[i % len(stores)].begin_submission(
            job, admit=admit, since=job.created_at, status_reason="creating"
        )
        return reason is None

    results = await asyncio.gather(*(begin(i, job) for i, job in enumerate(jobs)))
    assert results.count(True) == 3
    counts = await stores[0].count_by_status()
    assert (counts[Status.SUBMITTING], counts[Status.QUEUED]) == (3, 21)
    # Each admitted job's attempt is recorded with the move: the count of creates includes it.
    admitted = [j for j, ok in zip(jobs, results, strict=True) if ok]
    for job in admitted:
        [attempt] = await stores[0].list_attempts(job.id)
        assert attempt.status is Status.SUBMITTING and attempt.task_id is None
