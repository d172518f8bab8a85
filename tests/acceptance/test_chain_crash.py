"""``kill -9`` of ``vidgate worker`` in the middle of a chain, then a restart.

A 30 s gen4.5 chain (three 10 s segments) runs in a real ``vidgate worker`` subprocess against the
emulator (a real HTTP server) and a real database. The worker is killed while segment 2 runs and
again while segment 3 runs; each restart resumes after the last finished segment. In the end the
chain is one 30 s video and the emulator made exactly three tasks: no segment was paid twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.media.probe import probe_media
from vidgate.requests.chain_plan import validate_chain
from vidgate.runtime import EMULATOR_API_KEY


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    vidgate = Path(sys.executable).with_name("vidgate")
    with log.open("ab") as out:
        return subprocess.Popen([str(vidgate), "worker"], env=env, stdout=out, stderr=out)


async def test_kill_9_mid_chain_resumes_without_an_extra_task(
    engine: AsyncEngine, database_url: str, emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    emulator = emulator_server
    emulator.reset()
    emulator.control(taskSeconds=2.0, pendingSeconds=0.2, seed=5)
    store = JobStore(engine)
    media = tmp_path / "media"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))},
        "VIDGATE_DATABASE_URL": database_url,
        "VIDGATE_STORAGE_URL": media.as_uri(),
        "VIDGATE_DATA_DIR": str(tmp_path / "var"),
        "VIDGATE_POLL_MIN_SECONDS": "0.1",
        "VIDGATE_POLL_MAX_SECONDS": "0.5",
        "VIDGATE_LEASE_SECONDS": "1.5",
        "RUNWAYML_API_SECRET": EMULATOR_API_KEY,
        "RUNWAYML_BASE_URL": emulator.base_url,
    }
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

    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        for index in (1, 2):
            await segment_running(index)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            worker = _start_worker(env, log)
        try:
            async with asyncio.timeout(120):
                while not (done := await store.get_job(parent.id)).status.is_terminal:
                    await asyncio.sleep(0.2)
        except TimeoutError:
            pytest.fail(f"chain stuck\n{log.read_text()[-3000:]}")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()

    assert done.status is Status.SUCCEEDED, (done.status_reason, log.read_text()[-3000:])
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
