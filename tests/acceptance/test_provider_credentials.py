"""A wrong ``RUNWAYML_API_SECRET``: ``vidgate serve`` says so once at start-up, ``/readyz`` shows
it, and a job fails ``PROVIDER_CREDENTIALS`` with no traceback in the log.

Runway is the emulator on 127.0.0.1, accepting one key only (``EmulatorConfig.api_key``); the
server is started with another one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import T2V, Served, vidgate_env

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer

ACCEPTED_KEY = "key_" + "a" * 128
WRONG_KEY = "key_" + "b" * 128


@pytest.fixture
def strict_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(api_key=ACCEPTED_KEY, task_seconds=0.5)) as server:
        yield server


def test_a_refused_key_is_said_at_start_up_and_fails_jobs_plainly(
    tmp_path: Path, serve: type[Served], strict_emulator: EmulatorServer
) -> None:
    env = vidgate_env(
        tmp_path,
        RUNWAYML_API_SECRET=WRONG_KEY,
        RUNWAYML_BASE_URL=strict_emulator.base_url,
        # The circuit the refusal opened lets new work through again at once, so a job is made
        # and its create meets the refusal.
        VIDGATE_PROVIDER_PROBE_SECONDS="0.001",
    )
    server = serve(env=env)
    # The start-up check says it once, plainly, naming the setting and what it means for jobs.
    said = [line for line in server.lines if "fails with PROVIDER_CREDENTIALS" in line]
    assert len(said) == 1, server.output
    assert "RUNWAYML_API_SECRET" in said[0]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        ready = client.get("/readyz").json()
        assert ready == {"status": "degraded", "database": "ok", "provider": "credentials_refused"}
        created = client.post("/v1/generations", json=T2V)
        assert created.status_code == 202, created.text
        job = created.json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            job = client.get(f"/v1/generations/{job['id']}", params={"wait": 10}).json()
    assert job["status"] == "failed", job
    assert job["failure"]["code"] == "PROVIDER_CREDENTIALS", job
    assert "RUNWAYML_API_SECRET" in job["failure"]["message"]
    server.stop()
    assert "Traceback" not in server.output
    assert strict_emulator.stats()["tasksCreated"]["total"] == 0
