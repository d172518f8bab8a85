"""One emulator per data directory: every vidgate process on it talks to the same one.

* ``vidgate serve``, then three embedded ``vidgate generate`` runs from other processes: all
  succeed, and their tasks are in the one emulator the server runs;
* ``vidgate serve --no-worker`` + ``vidgate worker``: a job with an uploaded image succeeds (the
  server uploads, the worker submits the ``runway://`` URI, one emulator resolves it);
* a job survives a restart of the server and a ``kill -9`` of it: the task made before goes on
  in the emulator the new server runs from the state file, and no second task is made.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from serving import VIDGATE, Served, run_vidgate, vidgate_env

from vidgate.emulator.app import CONTROL_TOKEN_HEADER

TERMINAL = ("succeeded", "failed", "cancelled")


def emulator_tasks(data_dir: Path) -> list[dict[str, Any]]:
    """The tasks of the data directory's emulator, read at the URL it publishes."""
    published = json.loads((data_dir / "emulator" / "emulator.json").read_text())
    headers = {CONTROL_TOKEN_HEADER: published["controlToken"]}
    url = published["url"]
    tasks: list[dict[str, Any]] = httpx.get(
        f"{url}/_emulator/tasks", headers=headers, timeout=10
    ).json()
    return tasks


def create_job(url: str, **extra: Any) -> str:
    body = {
        "endpoint": "text_to_video",
        "model": "gen4.5",
        "promptText": "a lighthouse in fog",
        "ratio": "1280:720",
        "duration": 2,
        **extra,
    }
    created = httpx.post(f"{url}/v1/generations", json=body, timeout=30)
    assert created.status_code == 202, created.text
    job_id: str = created.json()["id"]
    return job_id


def wait_for(url: str, job_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        job: dict[str, Any] = httpx.get(f"{url}/v1/generations/{job_id}", timeout=30).json()
        if job["status"] in statuses:
            return job
        assert job["status"] not in TERMINAL, job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_three_embedded_generate_runs_beside_serve_all_succeed(
    tmp_path: Path, serve: type[Served]
) -> None:
    data = tmp_path / "var"
    env = vidgate_env(data, task_seconds=0.5)
    serve(env=env)
    for n in range(3):
        run = run_vidgate(
            "generate", f"a kite, take {n}", "-m", "gen4.5", "-d", "2", "-o", f"kite{n}.mp4",
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "TASK_VANISHED" not in run.stderr
        assert (tmp_path / f"kite{n}.mp4").stat().st_size > 0
    tasks = emulator_tasks(data)
    assert len(tasks) == 3 and all(t["status"] == "SUCCEEDED" for t in tasks), tasks


def test_serve_without_worker_and_a_separate_worker_share_uploads(
    tmp_path: Path, serve: type[Served]
) -> None:
    data = tmp_path / "var"
    env = vidgate_env(data, task_seconds=0.5)
    server = serve("--no-worker", env=env)
    worker = subprocess.Popen(
        [VIDGATE, "worker"], env=env, cwd=tmp_path,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        Image.new("RGB", (640, 360), (40, 90, 160)).save(tmp_path / "frame.png")
        run = run_vidgate(
            "generate", "the frame comes alive", "-m", "gen4.5", "-i", "frame.png",
            "-d", "2", "-o", "alive.mp4", "--url", server.url,
            env=env, cwd=tmp_path,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert (tmp_path / "alive.mp4").stat().st_size > 0
    finally:
        worker.terminate()
        _, worker_err = worker.communicate(timeout=30)
    assert "unknown or expired runway://" not in worker_err, worker_err
    assert [t["endpoint"] for t in emulator_tasks(data)] == ["image_to_video"]


@pytest.mark.parametrize("stop", ["restart", "kill -9"])
def test_a_job_survives_the_server_stopping(tmp_path: Path, serve: type[Served], stop: str) -> None:
    data = tmp_path / "var"
    env = vidgate_env(data, task_seconds=3, VIDGATE_LEASE_SECONDS="1")
    first = serve(env=env)
    job_id = create_job(first.url)
    wait_for(first.url, job_id, ("running",))
    if stop == "restart":
        first.stop()
    else:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    second = serve(env=env)
    job = wait_for(second.url, job_id, TERMINAL)
    assert job["status"] == "succeeded", job
    tasks = emulator_tasks(data)
    assert len(tasks) == 1 and tasks[0]["status"] == "SUCCEEDED", tasks
    assert "running the emulator of" in second.output and "(1 task kept from before)" in (
        second.output
    )
