"""``kill -9`` of ``vidgate worker`` at random points in the jobs' lives, then a restart.

The worker runs as a real subprocess against the emulator (a real HTTP server) and a real database
(SQLite and PostgreSQL). After every kill a new worker takes over once the dead one's leases run
out. In the end every job has finished; no job ever got a second upstream task; every stored video
is whole (its checksum matches and PyAV reads it to the end).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path

import pytest
from serving import KilledWorker, worker_env
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.status import FailureCode, Status
from vidgate.jobs.store import JobStore
from vidgate.media.probe import probe_media

JOBS = 12
KILLS = 4
SUBMIT_CONCURRENCY = 2


async def test_kill_9_at_any_point_loses_and_doubles_nothing(
    engine: AsyncEngine, database_url: str, emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    emulator = emulator_server
    emulator.reset()
    emulator.control(taskSeconds=1.5, pendingSeconds=0.2, seed=3)
    store = JobStore(engine)
    media = tmp_path / "media"
    env = worker_env(
        database_url,
        emulator.base_url,
        tmp_path,
        VIDGATE_SUBMIT_CONCURRENCY=str(SUBMIT_CONCURRENCY),
    )
    job_ids = []
    for index in range(JOBS):
        created = await store.create_job(
            endpoint="text_to_video",
            model="gen4.5",
            request={
                "model": "gen4.5",
                "promptText": f"crash test {index}",
                "ratio": "1280:720",
                "duration": 2,
            },
        )
        job_ids.append(created.job.id)

    rng = random.Random(11)
    with KilledWorker.started("--concurrency", "8", env=env, log=tmp_path / "worker.log") as worker:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.3, 1.6))
            worker.kill_and_restart()
        jobs = []
        try:
            async with asyncio.timeout(120):
                while True:
                    jobs = [await store.get_job(i) for i in job_ids]
                    if all(j.status.is_terminal for j in jobs):
                        break
                    await asyncio.sleep(0.2)
        except TimeoutError:
            states = [(j.status, j.status_reason, j.lease_owner, j.next_run_at) for j in jobs]
            pytest.fail(f"jobs stuck: {states}\n{worker.tail()}")

    upstream = emulator.tasks()
    task_ids = [t["id"] for t in upstream]
    assert len(task_ids) == len(set(task_ids))
    # Never a second paid task: at most one upstream task per job, and every task is a job's.
    assert len(upstream) <= JOBS, worker.tail(4000)
    recorded = {j.task_id for j in jobs if j.task_id}
    assert recorded <= set(task_ids)
    for job in jobs:
        attempts = await store.list_attempts(job.id)
        assert len([a for a in attempts if a.task_id]) <= 1
        if job.status is Status.SUCCEEDED:
            assert job.output_key is not None
            video = media / job.output_key
            assert hashlib.sha256(video.read_bytes()).hexdigest() == job.output_sha256
            assert probe_media(video).duration_seconds == pytest.approx(2.0, abs=1 / 24)
        else:
            # The one window no provider without idempotency keys can close: killed between
            # sending the create and recording its answer. It is reported, never resent.
            assert job.status is Status.FAILED, (job.status, job.status_reason)
            assert job.failure_code == FailureCode.SUBMISSION_UNCERTAIN
    succeeded = [j for j in jobs if j.status is Status.SUCCEEDED]
    # A kill can leave at most the creates then in flight uncertain; every other job finishes.
    assert len(succeeded) >= JOBS - KILLS * SUBMIT_CONCURRENCY
    # No partial file that looks complete: only finished videos, posters and previews are in
    # storage, and every finished job has all three (made in the one pass that stored it).
    stored = sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())
    expected = sorted(
        f"jobs/{j.id}/{name}"
        for j in succeeded
        for name in ("poster.jpg", "preview.webp", "video.mp4")
    )
    finals = [p for p in stored if not p.startswith("tmp/")]
    assert finals == expected
