"""SIGTERM while creates are in flight: ``vidgate serve`` stops claiming, waits for the creates'
answers and records them before it exits, so none of those jobs ends ``SUBMISSION_UNCERTAIN``
and nothing is sent twice after the restart.

Runway is the emulator on 127.0.0.1, its creates slowed by ``create_answer_seconds`` (the task is
made at once, the answer lags), so the SIGTERM lands while both creates wait for their answers.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import T2V, Served, vidgate_env

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer

JOBS = 2


@pytest.fixture
def slow_creates() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(create_answer_seconds=3.0, task_seconds=0.5)
    with EmulatorServer(config) as server:
        yield server


def _wait(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_sigterm_records_the_answers_of_creates_in_flight(
    tmp_path: Path, serve: type[Served], slow_creates: EmulatorServer
) -> None:
    env = vidgate_env(
        tmp_path,
        RUNWAYML_API_SECRET="key_" + "c" * 128,
        RUNWAYML_BASE_URL=slow_creates.base_url,
    )
    server = serve(env=env)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        ids = [client.post("/v1/generations", json=T2V).json()["id"] for _ in range(JOBS)]
    # Both tasks exist upstream; their answers are still on the way.
    _wait(lambda: slow_creates.stats()["tasksCreated"]["total"] == JOBS, "the creates")
    server.stop()  # SIGTERM, then waits for the process to exit
    # uvicorn ends a graceful shutdown by re-raising the signal it stopped for.
    assert server.process.returncode in (0, -signal.SIGTERM), server.output
    assert server.output.count("running (was submitting): submitted") == JOBS, server.output
    assert "Traceback" not in server.output
    restarted = serve(env=env)
    with httpx.Client(base_url=restarted.url, timeout=60) as client:
        for job_id in ids:
            job = client.get(f"/v1/generations/{job_id}").json()
            deadline = time.monotonic() + 60
            while job["status"] not in ("succeeded", "failed", "cancelled"):
                assert time.monotonic() < deadline, job
                job = client.get(f"/v1/generations/{job_id}", params={"wait": 10}).json()
            assert job["status"] == "succeeded", job
    assert slow_creates.stats()["tasksCreated"]["total"] == JOBS  # nothing was sent twice
