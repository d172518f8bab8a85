"""Job steps as procrastinate tasks on the machine's real PostgreSQL: several workers, one job
never stepped by two at once, a dead worker's steps taken over, lost defers found again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import update

from vidgate.catalog import get_catalog
from vidgate.db.engine import create_engine
from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.step_queue import QueueTimings, StepQueue, libpq_url
from vidgate.jobs.store import JobStore
from vidgate.migrations import upgrade_database
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.polling import PollCadence
from vidgate.pipeline.runner import Pipeline
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
FAST = QueueTimings(
    poll_seconds=0.1, heartbeat_seconds=0.5, stall_seconds=2.0, recover_every_seconds=1
)


class Cluster:
    """Queues sharing one database, as separate worker processes would."""

    def __init__(self, url: str, emulator: EmulatorServer, media: Path) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.store = JobStore(self.engine)
        self.provider = RunwayProvider(api_key=EMULATOR_API_KEY, base_url=emulator.base_url)
        self.storage = Storage.from_url(media.as_uri())
        self.queues: list[StepQueue] = []
        self.runners: list[asyncio.Task[None]] = []

    def pipeline(self) -> Pipeline:
        return Pipeline(
            StepContext(
                store=self.store,
                provider=self.provider,
                storage=self.storage,
                catalog=get_catalog(),
                cadence=PollCadence(min_seconds=0.1, max_seconds=0.5),
                limits=ProviderLimits(self.provider),
            )
        )

    async def queue(self) -> StepQueue:
        queue = StepQueue(self.url, self.store, self.pipeline(), timings=FAST)
        await queue.__aenter__()
        self.queues.append(queue)
        return queue

    async def start_worker(self, name: str) -> StepQueue:
        queue = await self.queue()
        self.runners.append(asyncio.create_task(queue.run_worker(concurrency=16, name=name)))
        return queue

    async def submit(self, queue: StepQueue, **extra: Any) -> Job:
        created = await self.store.create_job(
            endpoint="text_to_video", model="gen4.5", request=dict(GEN45, **extra)
        )
        await queue.schedule(created.job.id)
        return created.job

    async def wait_done(self, job_ids: list[str], timeout: float = 60.0) -> list[Job]:
        async with asyncio.timeout(timeout):
            while True:
                jobs = [await self.store.get_job(i) for i in job_ids]
                if all(j.status.is_terminal for j in jobs):
                    return jobs
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        for runner in self.runners:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        for queue in self.queues:
            await queue.__aexit__(None, None, None)
        await self.provider.aclose()
        await self.engine.dispose()


@pytest.fixture
async def cluster(
    postgres_url: str, emulator: EmulatorServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    cluster = Cluster(postgres_url, emulator, tmp_path / "media")
    yield cluster
    await cluster.close()


def _sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


async def test_two_workers_finish_every_job_with_one_task_each(
    cluster: Cluster, emulator: EmulatorServer
) -> None:
    api = await cluster.queue()  # an API process: defers, never runs
    await cluster.start_worker("w1")
    await cluster.start_worker("w2")
    jobs = [await cluster.submit(api, promptText=f"lighthouse {i}") for i in range(12)]
    done = await cluster.wait_done([j.id for j in jobs])
    assert [j.status for j in done] == [Status.SUCCEEDED] * 12
    assert emulator.stats()["tasksCreated"]["total"] == 12
    # Finished steps are deleted; nothing is left waiting for a finished job.
    assert _sql(cluster.url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'") == [
        (0,)
    ]


async def test_asking_again_moves_the_waiting_step_forward_not_twice(cluster: Cluster) -> None:
    queue = await cluster.queue()
    job = await cluster.submit(queue)
    later = datetime.now(UTC) + timedelta(hours=1)
    await queue.schedule(job.id, later)  # already waiting sooner: stays as it is
    await queue.schedule(job.id)
    rows = _sql(
        cluster.url,
        "SELECT scheduled_at FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo'",
        job.id,
    )
    assert len(rows) == 1 and rows[0][0] <= datetime.now(UTC)


async def test_a_dead_workers_step_is_taken_over(
    cluster: Cluster, emulator: EmulatorServer
) -> None:
    queue = await cluster.queue()
    job = await cluster.submit(queue)
    # What kill -9 leaves behind: a registered worker that stopped beating, holding the step.
    [(dead,)] = _sql(
        cluster.url,
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour')"
        " RETURNING id",
    )
    _sql(
        cluster.url,
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE queueing_lock = %s",
        dead,
        job.id,
    )
    await cluster.start_worker("survivor")
    [done] = await cluster.wait_done([job.id], timeout=FAST.recovery_bound_seconds + 20)
    assert done.status is Status.SUCCEEDED, done.status_reason
    assert emulator.stats()["tasksCreated"]["total"] == 1


async def test_an_active_job_without_a_step_is_found_again(cluster: Cluster) -> None:
    # The API process stored the job, then died before deferring its first step.
    created = await cluster.store.create_job(
        endpoint="text_to_video", model="gen4.5", request=dict(GEN45)
    )
    async with cluster.engine.begin() as conn:
        await conn.execute(
            update(Job)
            .where(Job.id == created.job.id)
            .values(created_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    await cluster.start_worker("sweeper")
    [done] = await cluster.wait_done([created.job.id])
    assert done.status is Status.SUCCEEDED


async def test_migrating_twice_keeps_the_queue_schema(postgres_url: str) -> None:
    await upgrade_database(postgres_url)
    await upgrade_database(postgres_url)
    [(count,)] = _sql(
        postgres_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'procrastinate_jobs'"
    )
    assert count == 1
