"""Scale-out under fire: API and worker processes on one PostgreSQL, workers killed with kill -9.

``python -m bench.scale_out --jobs 2000 --apis 2 --workers 4`` starts, each as a real process:
the emulator, ``vidgate serve --no-worker`` x apis and ``vidgate worker`` x workers, all on a
fresh PostgreSQL database and one media directory. It submits the jobs over HTTP to the API
processes in turn while a random worker is killed with ``kill -9`` every ``--kill-every``
seconds and replaced. It then checks that every job ended with exactly one upstream task (the
emulator's task list: no duplicate create) and measures, for every kill, how long the steps the
dead worker held waited before another worker took them over.

The figures are printed as one JSON line; ``--write`` puts them into docs/benchmarks.md.
tests/acceptance/test_scale_out.py runs the same harness with fewer jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import make_url

from bench.emulator_proc import EmulatorProcess, RemoteEmulator
from vidgate.jobs.step_queue import QueueTimings
from vidgate.runtime import EMULATOR_API_KEY

__all__ = ["ScaleResult", "run", "run_scale_out"]

VIDGATE = str(Path(sys.executable).parent / "vidgate")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# Same clip and seed for every job: the emulator renders it once, the measure is vidgate's.
REQUEST = {
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "promptText": "a lighthouse on a cliff at dusk",
    "ratio": "1280:720",
    "duration": 2,
    "seed": 7,
}


@dataclass
class ScaleResult:
    jobs: int
    apis: int
    workers: int
    lease_seconds: float
    recovery_bound_seconds: float
    task_seconds: float
    seconds: float = 0.0
    submit_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    failure_codes: dict[str, int] = field(default_factory=dict)
    tasks_created: int = 0
    duplicate_tasks: int = 0
    jobs_with_two_tasks: int = 0
    kills: int = 0
    takeover_seconds: list[float] = field(default_factory=list)
    log_tail: str = ""

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0

    @property
    def max_takeover_seconds(self) -> float:
        return max(self.takeover_seconds, default=0.0)

    def summary(self) -> dict[str, Any]:
        figures = {k: v for k, v in self.__dict__.items() if k != "log_tail"}
        figures["jobs_per_second"] = round(self.jobs_per_second, 2)
        figures["max_takeover_seconds"] = round(self.max_takeover_seconds, 2)
        figures["takeover_seconds"] = [round(s, 2) for s in self.takeover_seconds]
        return figures


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one run, dropped afterwards."""
    name = f"vidgate_scale_{uuid.uuid4().hex[:10]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Process:
    """One ``vidgate`` process, its output kept in a log file (and scanned for its URL)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self.url = ""
        self.process = subprocess.Popen(
            [VIDGATE, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.log.open("a") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                match = re.search(r"vidgate listening on (http://\S+)", line)
                if match:
                    self.url = match.group(1)
                    self._ready.set()
        self._ready.set()

    def wait_listening(self, timeout: float = 60) -> str:
        if not self._ready.wait(timeout) or not self.url:
            raise RuntimeError(f"{self.args} did not start:\n{self.log.read_text()[-3000:]}")
        return self.url

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _environment(database_url: str, emulator_url: str, work: Path, lease: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))}
    env.update(
        VIDGATE_DATABASE_URL=database_url,
        VIDGATE_STORAGE_URL=(work / "media").as_uri(),
        VIDGATE_DATA_DIR=str(work / "var"),
        VIDGATE_LEASE_SECONDS=str(lease),
        VIDGATE_DATABASE_CONNECTIONS="8",
        VIDGATE_POLL_MIN_SECONDS="0.2",
        VIDGATE_POLL_MAX_SECONDS="1.0",
        VIDGATE_API_RATE_PER_SECOND="100000",
        VIDGATE_API_RATE_BURST="100000",
        RUNWAYML_API_SECRET=EMULATOR_API_KEY,
        RUNWAYML_BASE_URL=emulator_url,
        PYTHONUNBUFFERED="1",
    )
    return env


def _held_by_dead_workers(database_url: str, silent_for: float) -> set[tuple[int, str]]:
    """(worker, job) for each step held by a worker that stopped beating."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT p.worker_id, p.queueing_lock FROM procrastinate_jobs p"
            " JOIN procrastinate_workers w ON w.id = p.worker_id"
            " WHERE p.status = 'doing' AND p.queueing_lock IS NOT NULL"
            "   AND w.last_heartbeat < now() - make_interval(secs => %s)",
            (silent_for,),
        ).fetchall()
    return {(int(row[0]), str(row[1])) for row in rows}


def _still_held(database_url: str, held: set[tuple[int, str]]) -> bool:
    """Whether any of those steps is still held by the dead worker that held it."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT p.worker_id, p.queueing_lock FROM procrastinate_jobs p"
            " WHERE p.status = 'doing' AND p.queueing_lock = ANY(%s)",
            ([job for _, job in held],),
        ).fetchall()
    return bool({(row[0], row[1]) for row in rows} & held)


async def _submit_all(urls: list[str], jobs: int) -> list[str]:
    ids: list[str] = []
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=60) as client:

        async def submit(index: int) -> None:
            async with gate:
                url = urls[index % len(urls)]
                for _ in range(20):
                    response = await client.post(f"{url}/v1/generations", json=REQUEST)
                    if response.status_code in (200, 201, 202):
                        ids.append(response.json()["id"])
                        return
                    await asyncio.sleep(0.5)  # 429/503: the API asks to slow down
                response.raise_for_status()

        await asyncio.gather(*(submit(i) for i in range(jobs)))
    return ids


async def _job_states(url: str, ids: list[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=60) as client:
        gate = asyncio.Semaphore(16)

        async def one(job_id: str) -> dict[str, Any]:
            async with gate:
                response = await client.get(f"{url}/v1/generations/{job_id}")
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

        return await asyncio.gather(*(one(i) for i in ids))


def _count_terminal(database_url: str, ids: list[str]) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        [(done,)] = conn.execute(
            "SELECT count(*) FROM jobs WHERE id = ANY(%s)"
            " AND status IN ('succeeded', 'failed', 'cancelled')",
            (ids,),
        ).fetchall()
    return int(done)


def run_scale_out(
    *,
    jobs: int,
    apis: int = 2,
    workers: int = 4,
    kill_every: float = 5.0,
    lease_seconds: float = 5.0,
    task_seconds: float = 2.0,
    admin_url: str = DEFAULT_PG,
    timeout: float = 900.0,
    seed: int = 1,
) -> ScaleResult:
    timings = QueueTimings.from_lease(lease_seconds)
    result = ScaleResult(
        jobs=jobs,
        apis=apis,
        workers=workers,
        lease_seconds=lease_seconds,
        recovery_bound_seconds=timings.recovery_bound_seconds,
        task_seconds=task_seconds,
    )
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory(prefix="vidgate-scale-") as tmp,
        fresh_database(admin_url) as database_url,
        EmulatorProcess(1) as (emulator,),
    ):
        work = Path(tmp)
        _prepare(emulator, task_seconds)
        env = _environment(database_url, emulator.base_url, work, lease_seconds)
        log = work / "cluster.log"
        subprocess.run([VIDGATE, "migrate"], env=env, check=True, capture_output=True)
        api_processes = [
            Process(["serve", "--no-worker", "--port", "0"], env, log) for _ in range(apis)
        ]
        worker_processes = [
            Process(["worker", "--concurrency", "64"], env, log) for _ in range(workers)
        ]
        try:
            urls = [p.wait_listening() for p in api_processes]
            started = time.perf_counter()
            submitting = threading.Thread(
                target=lambda: ids.extend(asyncio.run(_submit_all(urls, jobs))), daemon=True
            )
            ids: list[str] = []
            submitting.start()
            deadline = started + timeout
            next_kill = started + kill_every
            pending_takeovers: list[tuple[float, set[tuple[int, str]]]] = []
            while time.perf_counter() < deadline:
                time.sleep(0.25)
                now = time.perf_counter()
                if submitting.is_alive() or _count_terminal(database_url, ids) < jobs:
                    if now >= next_kill:
                        victim = rng.randrange(len(worker_processes))
                        worker_processes[victim].kill()
                        killed_at = time.perf_counter()
                        result.kills += 1
                        worker_processes[victim] = Process(
                            ["worker", "--concurrency", "64"], env, log
                        )
                        # What the dead worker held shows once its heartbeat is overdue.
                        time.sleep(timings.heartbeat_seconds * 2.5)
                        held = _held_by_dead_workers(database_url, timings.heartbeat_seconds * 2)
                        if held:
                            pending_takeovers.append((killed_at, held))
                        next_kill = time.perf_counter() + kill_every
                    for killed_at, held in list(pending_takeovers):
                        if not _still_held(database_url, held):
                            result.takeover_seconds.append(time.perf_counter() - killed_at)
                            pending_takeovers.remove((killed_at, held))
                    if not submitting.is_alive() and result.submit_seconds == 0.0:
                        result.submit_seconds = round(now - started, 2)
                    continue
                break
            result.seconds = round(time.perf_counter() - started, 2)
            states = asyncio.run(_job_states(urls[0], ids))
        finally:
            for process in [*worker_processes, *api_processes]:
                process.stop()
        for state in states:
            result.statuses[state["status"]] = result.statuses.get(state["status"], 0) + 1
            code = (state.get("failure") or {}).get("code")
            if code:
                result.failure_codes[code] = result.failure_codes.get(code, 0) + 1
        upstream = emulator.tasks()
        task_ids = [t["id"] for t in upstream]
        result.tasks_created = len(task_ids)
        result.duplicate_tasks = len(task_ids) - len(set(task_ids))
        with psycopg.connect(database_url, autocommit=True) as conn:
            [(doubled,)] = conn.execute(
                "SELECT count(*) FROM (SELECT job_id FROM attempts WHERE task_id IS NOT NULL"
                " GROUP BY job_id HAVING count(*) > 1) AS doubled"
            ).fetchall()
        result.jobs_with_two_tasks = int(doubled)
        result.log_tail = log.read_text()[-4000:]
    return result


def _prepare(emulator: RemoteEmulator, task_seconds: float) -> None:
    emulator.reset()
    emulator.control(
        taskSeconds=task_seconds,
        pendingSeconds=0.2,
        concurrency={REQUEST["model"]: None},
        dailyLimit={REQUEST["model"]: None},
        creditBalance=10**9,
    )


def run() -> dict[str, Any]:
    """The figures for docs/benchmarks.md: 2,000 jobs, 2 API and 4 worker processes."""
    admin_url = os.environ.get("VIDGATE_TEST_POSTGRES_URL") or DEFAULT_PG
    result = run_scale_out(jobs=2000, apis=2, workers=4, kill_every=8.0, admin_url=admin_url)
    return result.summary()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--apis", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=8.0)
    parser.add_argument("--lease-seconds", type=float, default=5.0)
    parser.add_argument("--postgres-url", default=os.environ.get("VIDGATE_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    result = run_scale_out(
        jobs=args.jobs,
        apis=args.apis,
        workers=args.workers,
        kill_every=args.kill_every,
        lease_seconds=args.lease_seconds,
        admin_url=args.postgres_url or DEFAULT_PG,
    )
    print(json.dumps(result.summary()), flush=True)


if __name__ == "__main__":
    main()
