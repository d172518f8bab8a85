"""``kill -9`` of ``vidgate worker`` in the middle of a chain, then a restart.

A 30 s gen4.5 chain (three 10 s segments) runs in a real ``vidgate worker`` subprocess against the
emulator (a real HTTP server) and a real database. The worker is killed while segment 2 runs and
again while segment 3 runs; each restart resumes after the last finished segment. In the end the
chain is one 30 s video and the emulator made exactly three tasks: no segment was paid twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from serving import KilledWorker, worker_env
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.media.probe import probe_media
from vidgate.requests.chain_plan import validate_chain


async def test_kill_9_mid_chain_resumes_without_an_extra_task(
    engine: AsyncEngine, database_url: str, emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    emulator = emulator_server
    emulator.reset()
    emulator.control(taskSeconds=2.0, pendingSeconds=0.2, seed=5)
    store = JobStore(engine)
    media = tmp_path / "media"
    env = worker_env(database_url, emulator.base_url, tmp_path)
    plan = validate_chain(
        {"model": "gen4.5", "promptText": "crash chain", "ratio": "1280:720", "duration": 30}
    )
    parent = (
        await store.create_job(
            endpoint="chain",
            model=plan.model,
            request=dict(plan.body),
            estimated_credits=plan.estimate_credits(),
        )
    ).job

    async def segment_running(index: int) -> None:
        # Killed while the segment's task runs upstream: its id is recorded, nothing is in doubt.
        async with asyncio.timeout(60):
            while True:
                children = {c.segment_index: c for c in await store.list_children(parent.id)}
                child = children.get(index)
                if child is not None and child.status is Status.RUNNING and child.task_id:
                    return
                await asyncio.sleep(0.05)

    with KilledWorker.started(env=env, log=tmp_path / "worker.log") as worker:
        for index in (1, 2):
            await segment_running(index)
            worker.kill_and_restart()
        try:
            async with asyncio.timeout(120):
                while not (done := await store.get_job(parent.id)).status.is_terminal:
                    await asyncio.sleep(0.2)
        except TimeoutError:
            pytest.fail(f"chain stuck\n{worker.tail()}")

    assert done.status is Status.SUCCEEDED, (done.status_reason, worker.tail())
    assert emulator.stats()["tasksCreated"]["total"] == 3  # no segment paid twice
    children = await store.list_children(parent.id)
    assert [c.segment_index for c in children] == [0, 1, 2]
    for child in children:
        attempts = await store.list_attempts(child.id)
        assert len([a for a in attempts if a.task_id]) == 1
    assert done.output_key is not None
    video = media / done.output_key
    assert hashlib.sha256(video.read_bytes()).hexdigest() == done.output_sha256
    info = probe_media(video)
    assert (info.width, info.height) == (1280, 720)
    assert info.duration_seconds == pytest.approx(30.0, abs=1 / 24)
