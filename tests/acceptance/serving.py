"""Helpers for tests that run the real ``vidgate`` command (imported by name: tests/acceptance is
on sys.path): the environment of a clean embedded default, ``vidgate serve`` as a process and a
``vidgate worker`` that a test kills and restarts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from vidgate.runtime import EMULATOR_API_KEY

VIDGATE = str(Path(sys.executable).parent / "vidgate")

#: A job that is quick to render: the shortest gen4.5 text to video.
T2V = {
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk",
    "ratio": "1280:720",
    "duration": 2,
}


def _outside_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))}


def vidgate_env(data_dir: Path, task_seconds: float = 1.5, **extra: str) -> dict[str, str]:
    """No VIDGATE_*/RUNWAYML_* from outside (so: emulator mode), short emulated tasks."""
    env = _outside_env()
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


def worker_env(database_url: str, emulator_url: str, root: Path, **extra: str) -> dict[str, str]:
    """A worker on this database and emulator, media in ``root/media``, short polls and leases."""
    env = _outside_env()
    env.update(
        VIDGATE_DATABASE_URL=database_url,
        VIDGATE_STORAGE_URL=(root / "media").as_uri(),
        VIDGATE_DATA_DIR=str(root / "var"),
        VIDGATE_POLL_MIN_SECONDS="0.1",
        VIDGATE_POLL_MAX_SECONDS="0.5",
        VIDGATE_LEASE_SECONDS="1.5",
        RUNWAYML_API_SECRET=EMULATOR_API_KEY,
        RUNWAYML_BASE_URL=emulator_url,
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


class KilledWorker:
    """``vidgate worker`` as a process the test kills (SIGKILL) and starts again; all its runs
    write to ``log``."""

    def __init__(self, *args: str, env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [VIDGATE, "worker", *self.args], env=self.env, stdout=out, stderr=out
            )

    def kill_and_restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = self._start()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text()[-chars:]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @classmethod
    @contextlib.contextmanager
    def started(cls, *args: str, env: dict[str, str], log: Path) -> Iterator[KilledWorker]:
        """A worker for the ``with`` block, stopped (SIGTERM) when it ends."""
        worker = cls(*args, env=env, log=log)
        try:
            yield worker
        finally:
            worker.stop()
