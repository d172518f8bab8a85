"""What the benchmarks share: running a case in a child process, sampling memory, summaries."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil  # type: ignore[import-untyped]

__all__ = [
    "MIB",
    "ROOT",
    "RssSampler",
    "machine",
    "median",
    "percentile",
    "run_child",
]

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


class RssSampler:
    """Samples a process's resident memory in a thread every ``interval`` s; ``peak`` in bytes."""

    def __init__(self, pid: int | None = None, *, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.cpu_seconds = 0.0  # user + system CPU of the process at the last sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> int:
        try:
            rss = int(self.process.memory_info().rss)
            times = self.process.cpu_times()
        except psutil.Error:
            return 0
        self.cpu_seconds = float(times.user + times.system)
        self.peak = max(self.peak, rss)
        self.samples += 1
        return rss

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def run_child(
    module: str, *args: str, timeout: float = 900, kill_after: float | None = None
) -> dict[str, Any]:
    """Run ``python -m module args``; merge the JSON objects it prints, one per line, in order.

    The parent samples the child's RSS (``sampled_peak_rss_mib``), a cross-check of the child's
    own high-water mark. With ``kill_after``, a child still running after that many seconds is
    killed and reported as it stood (``killed_after_seconds``), from what it printed so far:
    a child stuck in a busy loop may never get to stop itself.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    killed = False
    with RssSampler(process.pid, interval=0.2) as sampler:
        try:
            out, _ = process.communicate(timeout=kill_after or timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()  # what it printed before, nothing lost
            killed = kill_after is not None
            if not killed:
                raise
    if process.returncode != 0 and not killed:
        raise RuntimeError(f"{module} {' '.join(args)} exited with {process.returncode}")
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    result["sampled_peak_rss_mib"] = round(sampler.peak / MIB, 1)
    if killed:
        result["killed_after_seconds"] = kill_after
        result.setdefault("cpu_seconds", round(sampler.cpu_seconds, 1))
    return result


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile, linear between the closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def machine() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory.total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def parse_iso(value: str) -> float:
    """An ISO timestamp (``Z`` or offset) as a Unix time."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def elapsed(start: float) -> float:
    return round(time.perf_counter() - start, 2)
