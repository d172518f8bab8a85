"""Sustained ``POST /v1/generations`` throughput and latency of ``vidgate serve`` on SQLite.

``vidgate serve --no-worker`` runs as its own process on the embedded default (SQLite, emulator
mode). The load comes from ``wrk`` (C, one thread, ``bench/api_load.lua``), keeping 64 requests
in flight for 15 s after a 3 s warm-up: a Python client on these 2 cores would take a core's
worth of the CPU the server is measured on. Every request is a new job with its own
Idempotency-Key. Two cases, each on a fresh database: no API key (the loopback default, auth off)
and with one (``Authorization: Bearer``, auth on).

Every job must be durably stored before its 202: after the server stops, its database must hold
at least as many jobs as 202 answers were read (warm-up included), and at most 64 more per wrk
run (wrk stops with 64 requests in flight: their jobs are stored, their answers never read).
Every answer read must be a 202.
Run: ``python -m bench.api_throughput``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT

__all__ = ["GOAL_JOBS_PER_SECOND", "report", "run"]

DURATION_SECONDS = 15
WARMUP_SECONDS = 3
IN_FLIGHT = 64
GOAL_JOBS_PER_SECOND = 1000.0
LOAD_SCRIPT = ROOT / "bench" / "api_load.lua"
_VIDGATE = str(Path(sys.executable).parent / "vidgate")


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))}
    env.update(
        VIDGATE_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", VIDGATE_API_RATE_PER_SECOND="0"
    )
    return env


def _start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_VIDGATE, "serve", "--port", "0", "--no-worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if match := re.search(r"listening on (http://\S+)", log.read_text(errors="replace")):
            return process, match.group(1).rstrip("/")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"vidgate serve did not start:\n{log.read_text(errors='replace')}")


def _create_key(env: dict[str, str]) -> str:
    created = subprocess.run(
        [_VIDGATE, "keys", "create", "--name", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = re.search(r"(vg_\S+)", created.stdout)
    if token is None:
        raise RuntimeError(f"no token in: {created.stdout}")
    return token.group(1)


def _wrk(url: str, seconds: int, run: str, token: str | None) -> dict[str, Any]:
    env = {**os.environ, "VIDGATE_BENCH_RUN": run}
    if token:
        env["VIDGATE_BENCH_TOKEN"] = token
    finished = subprocess.run(
        ["wrk", "-t1", f"-c{IN_FLIGHT}", f"-d{seconds}s", "-s", str(LOAD_SCRIPT), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    line = [x for x in finished.stdout.splitlines() if x.startswith("{")][-1]
    result: dict[str, Any] = json.loads(line)
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    return result


def _case(name: str, *, with_key: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-api-") as tmp:
        data_dir = Path(tmp)
        env = _environment(data_dir)
        token = _create_key(env) if with_key else None
        process, url = _start_server(env, data_dir / "serve.log")
        try:
            server = psutil.Process(process.pid)
            warmup = _wrk(url, WARMUP_SECONDS, f"warmup-{name}", token)
            cpu_before = sum(server.cpu_times()[:2])
            measured = _wrk(url, DURATION_SECONDS, name, token)
            cpu_seconds = sum(server.cpu_times()[:2]) - cpu_before
        finally:
            process.terminate()
            process.wait(timeout=30)
        with sqlite3.connect(data_dir / "vidgate.db") as db:
            stored = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    accepted = measured["statuses"].get(202, 0)
    answered = {**warmup["statuses"]}
    for status, count in measured["statuses"].items():
        answered[status] = answered.get(status, 0) + count
    return {
        "case": name,
        "auth": "Bearer API key" if with_key else "none (loopback, no keys)",
        "seconds": measured["seconds"],
        "accepted": accepted,
        "jobs_per_s": accepted / measured["seconds"],
        "p50_ms": measured["p50_ms"],
        "p90_ms": measured["p90_ms"],
        "p99_ms": measured["p99_ms"],
        "max_ms": measured["max_ms"],
        "server_cpu_ms_per_job": 1000 * cpu_seconds / accepted if accepted else None,
        "statuses_with_warmup": answered,
        "socket_errors": warmup["socket_errors"] + measured["socket_errors"],
        "stored_jobs": stored,
        # wrk stops with requests in flight: their jobs are stored, their 202s never read.
        "all_202_stored": answered.get(202, 0) <= stored <= answered.get(202, 0) + 2 * IN_FLIGHT,
        "answered_202": answered.get(202, 0),
        "only_202": set(answered) == {202},
    }


def run() -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (make bench installs it: apt-get install wrk)"}
    cases = [_case("no-key", with_key=False), _case("api-key", with_key=True)]
    return {
        "cases": cases,
        "in_flight": IN_FLIGHT,
        "duration_s": DURATION_SECONDS,
        "goal_jobs_per_s": GOAL_JOBS_PER_SECOND,
        "met": all(
            c["jobs_per_s"] >= GOAL_JOBS_PER_SECOND
            and c["all_202_stored"]
            and c["only_202"]
            and not c["socket_errors"]
            for c in cases
        ),
    }


def report(result: dict[str, Any]) -> str:
    rows = [
        "| auth | 202s | jobs/s | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/job "
        "| stored = 202s | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for c in result["cases"]:
        met = c["jobs_per_s"] >= GOAL_JOBS_PER_SECOND and c["all_202_stored"] and c["only_202"]
        rows.append(
            f"| {c['auth']} | {c['accepted']:,} | {c['jobs_per_s']:.0f} | {c['p50_ms']:.1f} "
            f"| {c['p90_ms']:.1f} | {c['p99_ms']:.1f} | {c['max_ms']:.0f} "
            f"| {c['server_cpu_ms_per_job']:.2f} "
            f"| {'yes' if c['all_202_stored'] else 'NO'} "
            f"({c['answered_202']:,} 202s read, {c['stored_jobs']:,} jobs) "
            f"| >= {GOAL_JOBS_PER_SECOND:.0f} jobs/s: {'met' if met else 'not met'} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    outcome = run()
    print(json.dumps(outcome, indent=2))
    if "cases" in outcome:
        print(report(outcome))
