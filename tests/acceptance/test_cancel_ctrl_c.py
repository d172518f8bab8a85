"""Ctrl-C on ``vidgate generate`` while its create is in flight upstream: the CLI cancels the job
through the API (``DELETE /v1/generations/{id}``, the page's call too), the job ends cancelled
within the CLI's wait, the task the create made is cancelled upstream and its cost recorded.

Runway is the emulator on 127.0.0.1 (a server of the test's own, as a real key's base URL), its
creates answering ``create_answer_seconds`` after their task exists: the Ctrl-C lands between.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import VIDGATE, run_vidgate, vidgate_env

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer

DURING_CREATE = "cancelled while being submitted; the task was cancelled upstream"


@pytest.fixture
def slow_creates() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(create_answer_seconds=2.0, task_seconds=60)) as server:
        yield server


def _wait(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_ctrl_c_during_the_create_cancels_the_task_it_made(
    tmp_path: Path, slow_creates: EmulatorServer
) -> None:
    env = vidgate_env(
        tmp_path / "var",
        RUNWAYML_API_SECRET="key_" + "c" * 128,
        RUNWAYML_BASE_URL=slow_creates.base_url,
    )
    process = subprocess.Popen(
        [VIDGATE, "generate", "a very long take", "--model", "gen4.5", "--duration", "2"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    err = bytearray()

    def read() -> None:
        assert process.stderr is not None
        while chunk := process.stderr.read1(4096):
            err.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait(lambda: re.search(rb"job \w{26}:", err), "the job line")
        _wait(lambda: slow_creates.stats()["tasksCreated"]["total"] == 1, "the task upstream")
        process.send_signal(signal.SIGINT)  # the create's answer is still on the way
        assert process.wait(timeout=60) == 130, err.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
    text = err.decode()
    found = re.search(r"job (\w{26}):", text)
    assert found, text
    job_id = found.group(1)
    assert f"cancelling job {job_id} without asking" in text
    # Ended within the CLI's wait (not "cancel requested, the provider task is being stopped").
    assert f"job {job_id} cancelled (24 credits)" in text, text
    stats = slow_creates.stats()
    assert stats["tasksCreated"]["total"] == 1 and stats["taskDeletes"] == 1
    assert slow_creates.tasks() == []

    shown = run_vidgate("jobs", "show", job_id, "--json", env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert (job["status"], job["statusReason"], job["costCredits"]) == (
        "cancelled",
        DURING_CREATE,
        24,
    )
