"""Sustained ``POST /v1/generations`` throughput and latency of ``vidgate serve`` on SQLite.

``vidgate serve --no-worker`` runs as its own process on the embedded default (SQLite, emulator
mode); a client process keeps a fixed number of requests in flight for a fixed time. Every job is
durably stored before its 202: afterwards the job count in the database must equal the number of
202 answers. Run: ``python -m bench.api_throughput``.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

DURATION_SECONDS = 15.0
IN_FLIGHT = 64
GOAL_JOBS_PER_SECOND = 1000.0


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))}
    env.update(
        VIDGATE_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", VIDGATE_API_RATE_PER_SECOND="0"
    )
    vidgate = str(Path(sys.executable).parent / "vidgate")
    process = subprocess.Popen(
        [vidgate, "serve", "--port", "0", "--no-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if match := re.search(r"listening on (http://\S+)", line):
            return process, match.group(1).rstrip("/")
    process.kill()
    raise RuntimeError("vidgate serve did not start")


async def _drive(url: str) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + DURATION_SECONDS
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def one_client(index: int) -> None:
            n = 0
            while time.perf_counter() < stop_at:
                body = {
                    "endpoint": "text_to_video",
                    "model": "gen4.5",
                    "promptText": f"bench {index}-{n}",
                    "ratio": "1280:720",
                    "duration": 5,
                }
                started = time.perf_counter()
                response = await client.post("/v1/generations", json=body)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                n += 1

        began = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "elapsed_s": elapsed,
        "jobs_per_s": statuses.get(202, 0) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": statuses,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-api-") as tmp:
        data_dir = Path(tmp)
        process, url = _start_server(data_dir)
        try:
            result = asyncio.run(_drive(url))
        finally:
            process.terminate()
            process.wait(timeout=30)
        with sqlite3.connect(data_dir / "vidgate.db") as db:
            stored = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    result["stored_jobs"] = stored
    result["all_202_stored"] = stored == result["statuses"].get(202, 0)
    result["goal_jobs_per_s"] = GOAL_JOBS_PER_SECOND
    result["met"] = result["jobs_per_s"] >= GOAL_JOBS_PER_SECOND and result["all_202_stored"]
    return result


def report(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| in flight | seconds | 202s | jobs/s | p50 ms | p99 ms | stored = 202s | goal |",
            "|---:|---:|---:|---:|---:|---:|---|---|",
            f"| {IN_FLIGHT} | {result['elapsed_s']:.1f} | {result['statuses'].get(202, 0)} "
            f"| {result['jobs_per_s']:.0f} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} "
            f"| {'yes' if result['all_202_stored'] else 'NO'} "
            f"| >= {GOAL_JOBS_PER_SECOND:.0f} jobs/s: {'met' if result['met'] else 'not met'} |",
        ]
    )


if __name__ == "__main__":
    print(report(run()))
