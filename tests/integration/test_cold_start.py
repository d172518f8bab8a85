"""A cold start against Runway's API as production reaches it: a base URL and a secret (not
emulator mode), so vidgate is not told how long a task takes.

The emulator is a real HTTP server on 127.0.0.1 whose tier allows one task of the model at a
time; vidgate runs as ``vidgate serve`` runs it (``open_runtime`` with its background work and the
worker's default poll bounds). A model's first task is polled at most three times (one more than
a learned model's two), reads a progress figure on the way, and teaches the model its run time:
the next task, and the first one after a restart, are polled at most twice. The task GETs are
the emulator's own count, checked against each job's ``poll_count``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from vidgate.api.routes.webhooks import job_payload
from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.models import Job
from vidgate.runtime import EMULATOR_API_KEY, Background, Runtime, open_runtime
from vidgate.settings import load_settings

MODEL = "veo3.1_fast"  # speed class "fast": an unlearned model's first poll comes at 5 s
BODY = {"model": MODEL, "promptText": "a lighthouse at dusk", "ratio": "1280:720", "duration": 4}
# Long enough that the first figure (at 5 s) leaves a long way: the extra poll for a rate is taken.
RUNNING_SECONDS = 11.5
PENDING_SECONDS = 0.5


@pytest.fixture
def runway(emulator_server: EmulatorServer) -> EmulatorServer:
    emulator_server.reset()
    emulator_server.control(
        taskSeconds=RUNNING_SECONDS,
        pendingSeconds=PENDING_SECONDS,
        defaultConcurrency=1,  # a second job queues here, in vidgate, until the first ends
        seed=7,
    )
    return emulator_server


def _settings(tmp_path: Path, database_url: str, runway: EmulatorServer) -> Any:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        storage_url=(tmp_path / "media").as_uri(),
        provider_limit_retry_seconds=0.5,
        RUNWAYML_API_SECRET=EMULATOR_API_KEY,
        RUNWAYML_BASE_URL=runway.base_url,
    )


async def _run(runtime: Runtime, count: int) -> list[Job]:
    """Create ``count`` jobs at once and wait until all are terminal, in submission order."""
    ids = []
    for _ in range(count):
        created = await runtime.store.create_job(
            endpoint="text_to_video", model=MODEL, request=dict(BODY)
        )
        ids.append(created.job.id)
        await runtime.job_submitted(created.job.id)
    async with asyncio.timeout(120):
        while True:
            jobs = [await runtime.store.get_job(i) for i in ids]
            if all(j.status.is_terminal for j in jobs):
                break
            await asyncio.sleep(0.1)
    assert [j.status.value for j in jobs] == ["succeeded"] * count
    return sorted(jobs, key=lambda j: j.submitted_at or j.created_at)


async def _saw_progress(runtime: Runtime, job: Job) -> bool:
    """Whether the job recorded a progress figure strictly between 0 and 1 on its way."""
    events = await runtime.store.events_since(0, job_id=job.id)
    return any(0 < e.data["progress"] < 1 for e in events)


def _seconds(job: Job, since: datetime | None) -> float:
    assert job.finished_at is not None and since is not None
    return (job.finished_at - since).total_seconds()


async def test_a_model_is_learned_in_one_task_and_kept_across_a_restart(
    tmp_path: Path, sqlite_url: str, runway: EmulatorServer
) -> None:
    settings = _settings(tmp_path, sqlite_url, runway)
    background = Background(render=job_payload)

    async with open_runtime(settings, background=background) as runtime:
        cadence = runtime.pipeline.context.cadence
        assert not cadence.learned(MODEL)
        cold, warm = await _run(runtime, 2)
        assert cadence.learned(MODEL)
        # The first task: one poll more than a learned model's at most, and a figure read on
        # the way (the old first poll, at most of the way to the 30 s prior, found it done).
        assert 2 <= cold.poll_count <= 3 and await _saw_progress(runtime, cold)
        # The second waited here for the tier's one slot, then went as a learned model's does.
        assert warm.poll_count <= 2 and await _saw_progress(runtime, warm)
    gets = runway.stats()["taskGets"]
    assert gets == cold.poll_count + warm.poll_count  # every task GET was a poll of a job

    async with open_runtime(settings, background=background) as restarted:
        cadence = restarted.pipeline.context.cadence
        # Learned from the jobs the last run stored, each from the create's answer on: the
        # second job's wait here for the slot is not run time.
        assert cadence.learned(MODEL)
        ran = max(_seconds(cold, cold.submitted_at), _seconds(warm, warm.submitted_at))
        assert cadence.expected_seconds(MODEL, "fast") <= ran < _seconds(warm, warm.created_at)
        (again,) = await _run(restarted, 1)
        assert again.poll_count <= 2 and await _saw_progress(restarted, again)
    assert runway.stats()["taskGets"] - gets == again.poll_count
