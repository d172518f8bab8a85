"""What an operator reads in ``vidgate serve``'s log (docs/settings.md, ``VIDGATE_LOG_FORMAT``).

* JSON lines: one per job transition (id, model, status, reason, timings, credits), the failure
  with its code at WARNING, an access line per request, the start-up and shutdown lines, and not
  once the Runway secret (runway mode against an emulator that only accepts that secret);
* a busy port: one line naming ``VIDGATE_PORT``, before anything else starts.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
from serving import Served, run_vidgate, vidgate_env

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer

SECRET = "key_" + "5ec7e7" * 21 + "ab"


def finish(url: str, body: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=60) as client:
        job: dict[str, Any] = client.post("/v1/generations", json=body).json()
        deadline = time.monotonic() + 60
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            job = client.get(f"/v1/generations/{job['id']}", params={"wait": 10}).json()
        return job


def test_json_log_has_transitions_failures_access_and_lifecycle_but_no_secret(
    tmp_path: Path, serve: type[Served]
) -> None:
    config = EmulatorConfig(task_seconds=0.3, pending_seconds=0, api_key=SECRET)
    with EmulatorServer(config) as emulator:
        env = vidgate_env(
            tmp_path / "var",
            VIDGATE_LOG_FORMAT="json",
            RUNWAYML_API_SECRET=SECRET,
            RUNWAYML_BASE_URL=emulator.base_url,
        )
        server = serve(env=env)
        body = {
            "endpoint": "text_to_video",
            "model": "gen4.5",
            "promptText": "a tram at night",
            "ratio": "1280:720",
        }
        good = finish(server.url, {**body, "duration": 2})
        emulator.control(failRate=1, failureCode="SAFETY.INPUT.TEXT")
        bad = finish(server.url, {**body, "duration": 3})
        server.stop()
    assert good["status"] == "succeeded" and bad["status"] == "failed"
    output = server.output
    assert SECRET not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(lines) > 10
    jobs = [r for r in lines if r.get("event") == "job"]
    trail = [r["status"] for r in jobs if r["job_id"] == good["id"]]
    assert trail == ["queued", "submitting", "running", "downloading", "succeeded"]
    done = next(r for r in jobs if r["job_id"] == good["id"] and r["status"] == "succeeded")
    assert done["model"] == "gen4.5" and done["previous"] == "downloading"
    assert done["cost_credits"] == good["costCredits"] and done["reason"]
    assert 0 < done["seconds_since_submitted"] <= done["seconds_since_created"]
    failed = [r for r in jobs if r["job_id"] == bad["id"] and r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["level"] == "warning"
    assert failed[0]["failure_code"] == "SAFETY.INPUT.TEXT"
    access = [r for r in lines if r.get("event") == "access"]
    assert {"method": "POST", "path": "/v1/generations", "status": 202}.items() <= access[0].items()
    messages = [r["message"] for r in lines]
    assert any(m.startswith("vidgate API ready") for m in messages)
    assert "vidgate stopped" in messages[-3:]


def test_a_busy_port_is_one_line_naming_the_setting_before_anything_starts(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = vidgate_env(tmp_path / "var")
        run = run_vidgate("serve", "--port", str(port), env=env, cwd=tmp_path)
    assert run.returncode != 0
    said = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert len(said) == 1 and "VIDGATE_PORT" in said[0] and str(port) in said[0], said
    assert not (tmp_path / "var").exists()  # no database, no emulator, no worker
