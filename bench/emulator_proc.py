"""Emulators in a process of their own, so their memory and CPU are not the measured process's.

``python -m bench.emulator_proc N`` starts N independent emulators (each its own tasks, stats
and outputs) on free loopback ports, prints their base URLs and control tokens as one JSON line,
and serves until its standard input closes. :class:`EmulatorProcess` does this from the
benchmark's side and talks to each emulator through its control endpoint (:class:`RemoteEmulator`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from vidgate.emulator.server import EmulatorControl

__all__ = ["EmulatorProcess", "RemoteEmulator"]

ROOT = Path(__file__).resolve().parents[1]


class RemoteEmulator(EmulatorControl):
    """The control endpoint of an emulator in the child process (long timeouts: it is busy)."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url, timeout=120, token=token)


class EmulatorProcess:
    """``with EmulatorProcess(2) as (a, b): ...``: two emulators in one child process."""

    def __init__(self, count: int = 1, *, render_workers: int = 2) -> None:
        self.count = count
        self.render_workers = render_workers
        self.process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> list[RemoteEmulator]:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.emulator_proc",
                str(self.count),
                str(self.render_workers),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError("the emulator process did not start")
        return [RemoteEmulator(url, token) for url, token in json.loads(line)]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self.process
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the child stops when its stdin closes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.process = None


def main(argv: list[str]) -> None:
    import logging

    from vidgate.emulator.config import EmulatorConfig
    from vidgate.emulator.server import EmulatorServer

    count = int(argv[0]) if argv else 1
    workers = int(argv[1]) if len(argv) > 1 else 2
    logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
    servers = [EmulatorServer(EmulatorConfig(render_workers=workers)) for _ in range(count)]
    for server in servers:
        server.start()
    try:
        print(json.dumps([[s.base_url, s.control_token] for s in servers]), flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
