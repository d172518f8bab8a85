"""Helpers for tests that run the real ``vidgate`` command (imported by name: tests/acceptance is
on sys.path): the environment of a clean embedded default, and ``vidgate serve`` as a process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

VIDGATE = str(Path(sys.executable).parent / "vidgate")

#: A job that is quick to render: the shortest gen4.5 text to video.
T2V = {
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk",
    "ratio": "1280:720",
    "duration": 2,
}


def vidgate_env(data_dir: Path, task_seconds: float = 1.5, **extra: str) -> dict[str, str]:
    """No VIDGATE_*/RUNWAYML_* from outside (so: emulator mode), short emulated tasks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))}
    env.update(
        VIDGATE_DATA_DIR=str(data_dir),
        VIDGATE_EMULATOR_TASK_SECONDS=str(task_seconds),
        VIDGATE_POLL_MIN_SECONDS="0.1",
        VIDGATE_POLL_MAX_SECONDS="0.3",
        PYTHONUNBUFFERED="1",
        COLUMNS="120",
    )
    env.update(extra)
    return env


def run_vidgate(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VIDGATE, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Served:
    """``vidgate serve --port 0`` as a process; its URL is read from its "listening on" line."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [VIDGATE, "serve", "--port", "0", *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60) or not self.url:
            self.stop()
            raise AssertionError("vidgate serve did not start:\n" + self.output)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = re.search(r"vidgate listening on (http://\S+)", line)
            if match:
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
