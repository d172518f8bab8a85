"""``vidgate emulator`` as a real process: its flags and VIDGATE_EMULATOR_* variables set knobs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from runwayml import RunwayML

from vidgate.emulator.app import CONTROL_TOKEN_HEADER
from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.testing import wait_for_task

VIDGATE = str(Path(sys.executable).with_name("vidgate"))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def _variable(name: str) -> str:
    return "VIDGATE_EMULATOR_" + ("LEGACY" if name == "allow_legacy" else name.upper())


def test_every_knob_is_a_flag_with_its_variable_and_is_documented() -> None:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    run = subprocess.run(
        [VIDGATE, "emulator", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr
    docs = DOCS.read_text()
    for name, info in EmulatorConfig.model_fields.items():
        assert _variable(name) in run.stdout, name
        assert f"| `{info.alias}` |" in docs, name
        assert _variable(name) in docs, name
    for extra in ("VIDGATE_EMULATOR_HOST", "VIDGATE_EMULATOR_PORT"):
        assert extra in run.stdout and extra in docs


def test_emulator_command_serves_with_flags_and_environment() -> None:
    env = {
        **os.environ,
        "VIDGATE_EMULATOR_FAIL_RATE": "1",
        "VIDGATE_EMULATOR_FAILURE_CODE": "INPUT_PREPROCESSING.INTERNAL",
        "VIDGATE_EMULATOR_PENDING_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "250",
    }
    process = subprocess.Popen(
        [
            VIDGATE,
            "emulator",
            "--port",
            "0",
            "--task-seconds",
            "0.2",
            "--concurrency",
            "gen4.5=1",
            "--host-map",
            "media.example.com=http://127.0.0.1:9",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        base_url = match.group(0)
        token = re.search(r"control token: (\S+)", process.stdout.readline())
        assert token, "the emulator did not print its control token"
        assert httpx.get(f"{base_url}/_emulator/config").status_code == 401
        headers = {CONTROL_TOKEN_HEADER: token.group(1)}
        config = httpx.get(f"{base_url}/_emulator/config", headers=headers).json()
        assert config["taskSeconds"] == 0.2
        assert config["failRate"] == 1
        assert config["failureCode"] == "INPUT_PREPROCESSING.INTERNAL"
        assert config["concurrency"] == {"gen4.5": 1}
        assert config["hostMap"] == {"media.example.com": "http://127.0.0.1:9"}
        with RunwayML(api_key="key_cli", base_url=base_url) as client:
            created = client.text_to_video.create(
                model="gen4.5", prompt_text="A", ratio="1280:720", duration=2
            )
            task = wait_for_task(client, created.id)
        assert task.failure_code == "INPUT_PREPROCESSING.INTERNAL"  # type: ignore[union-attr]
    finally:
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0


def test_a_bad_flag_stops_the_command_with_a_message_naming_it() -> None:
    run = subprocess.run(
        [VIDGATE, "emulator", "--port", "0", "--fail-rate", "3"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=60,
    )
    assert run.returncode == 2
    assert "failRate" in run.stderr and run.stdout == ""
