"""The first hour with vidgate: the first video after a fresh start, and vidgate beside the naive
route (issue 15).

Goals:

- **first video**: ``vidgate serve`` started on an empty data directory in emulator mode (5 s
  tasks, the default), then one 5 s gen4.5 job at once: stored (the job SUCCEEDED, video copied,
  probed, postered) within the emulator's task time + 1.5 s of its creation, with a progress
  figure strictly between 0 and 1 seen by the job on the way. The job is read every 50 ms.
- **beside the naive route**: 8 concurrent 20 s text to video requests, sent at once to the
  FastAPI route of :mod:`bench.seed_route` (sync SDK in an ``async def`` route: served one after
  another) and, at the same time, to a fresh ``vidgate serve`` (``cold``: empty data directory),
  then again to the same server (``warm``: it has learned the model's run time). Each side has
  its own emulator, same knobs (20 s running after 0.5 s pending, no concurrency limit). The
  ratio is the route's wall time over vidgate's (8 jobs created -> all stored); its limit is the
  route's wall time over one task's own time (pending + running: what a gateway with no overhead
  would take for 8 parallel tasks). Goal: at least 90 % of the limit, cold and warm.

The GETs per task are measured by :mod:`bench.lag` (section 4).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx

from bench.common import ROOT
from bench.emulator_proc import EmulatorProcess
from bench.scale_out import Process
from vidgate.emulator.app import CONTROL_TOKEN_HEADER

__all__ = ["GOAL_FIRST_VIDEO_EXTRA", "GOAL_LIMIT_SHARE", "run"]

GOAL_FIRST_VIDEO_EXTRA: Final = 1.5
GOAL_LIMIT_SHARE: Final = 0.9
FIRST_TASK_SECONDS: Final = 5.0
ROUTE_TASK_SECONDS: Final = 20.0
PENDING_SECONDS: Final = 0.5  # the emulator's default
ROUTE_JOBS: Final = 8
KNOBS: Final[dict[str, Any]] = {
    "defaultConcurrency": None,
    "defaultDailyLimit": None,
    "creditBalance": 10**9,
}


class _Serve(Process):
    """``vidgate serve --port 0`` on a data directory, in emulator mode."""

    def __init__(self, data_dir: Path, task_seconds: float, **extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "RUNWAYML_"))}
        env.update(
            VIDGATE_DATA_DIR=str(data_dir),
            VIDGATE_EMULATOR_TASK_SECONDS=str(task_seconds),
            VIDGATE_API_RATE_PER_SECOND="0",
            PYTHONUNBUFFERED="1",
            **extra,
        )
        self.data_dir = data_dir
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(["serve", "--port", "0"], env, data_dir.parent / "serve.log")
        self.wait_listening(120)

    @property
    def emulator_url(self) -> str:
        return str(self._published()["url"])

    @property
    def emulator_headers(self) -> dict[str, str]:
        """The control token of the data directory's emulator, as its control endpoint wants it."""
        return {CONTROL_TOKEN_HEADER: str(self._published()["controlToken"])}

    def _published(self) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(
            (self.data_dir / "emulator" / "emulator.json").read_text()
        )
        return record


def _body(prompt: str, duration: int) -> dict[str, Any]:
    return {
        "endpoint": "text_to_video",
        "model": "gen4.5",
        "promptText": prompt,
        "ratio": "1280:720",
        "duration": duration,
    }


def _stored_seconds(job: dict[str, Any]) -> float:
    created = datetime.fromisoformat(job["createdAt"])
    finished = datetime.fromisoformat(job["finishedAt"])
    return (finished - created).total_seconds()


async def _vidgate_batch(url: str, n: int, *, tag: str) -> dict[str, Any]:
    """Create ``n`` jobs at once, wait for all; the wall time and what the jobs saw."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        began = time.perf_counter()
        created = await asyncio.gather(
            *(client.post("/v1/generations", json=_body(f"{tag} {i}", 5)) for i in range(n))
        )
        ids = [r.json()["id"] for r in created]
        progress: dict[str, set[float]] = {i: set() for i in ids}
        done: dict[str, dict[str, Any]] = {}
        while len(done) < n:
            for job_id in [i for i in ids if i not in done]:
                job = (await client.get(f"/v1/generations/{job_id}")).json()
                progress[job_id].add(job["progress"])
                if job["status"] in ("succeeded", "failed", "cancelled"):
                    done[job_id] = job
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - began
    return {
        "wall_seconds": round(wall, 2),
        "succeeded": sum(1 for j in done.values() if j["status"] == "succeeded"),
        "stored_seconds": sorted(round(_stored_seconds(j), 2) for j in done.values()),
        "progress_between": all(any(0 < p < 1 for p in seen) for seen in progress.values()),
    }


def first_video(work: Path) -> dict[str, Any]:
    server = _Serve(work / "first" / "var", FIRST_TASK_SECONDS)
    try:
        batch = asyncio.run(_vidgate_batch(server.url, 1, tag="a first video"))
    finally:
        server.stop()
    stored = batch["stored_seconds"][0]
    return {
        "task_seconds": FIRST_TASK_SECONDS,
        "stored_seconds": stored,
        "progress_between": batch["progress_between"],
        "succeeded": batch["succeeded"] == 1,
        "meets_goal": batch["succeeded"] == 1
        and batch["progress_between"]
        and stored <= FIRST_TASK_SECONDS + GOAL_FIRST_VIDEO_EXTRA,
    }


async def _route_batch(url: str, n: int) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=3600) as client:
        began = time.perf_counter()
        answers = await asyncio.gather(
            *(
                client.post("/api/generate-video", json={"prompt": f"route {i}", "duration": 5})
                for i in range(n)
            )
        )
        wall = time.perf_counter() - began
    failed = [a.text for a in answers if a.status_code != 200]
    if failed:
        raise RuntimeError(f"the naive route failed: {failed[:2]}")
    return wall


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def beside_the_route(work: Path) -> dict[str, Any]:
    with EmulatorProcess(1) as (emulator,):
        emulator.control(taskSeconds=ROUTE_TASK_SECONDS, pendingSeconds=PENDING_SECONDS, **KNOBS)
        port = _free_port()
        env = {
            **os.environ,
            "RUNWAYML_API_SECRET": "key_" + "0" * 128,
            "RUNWAYML_BASE_URL": emulator.base_url,
        }
        route = subprocess.Popen(
            [sys.executable, "-m", "bench.seed_route", str(port)], cwd=ROOT, env=env
        )
        # The knobs are set once the server runs its emulator; the worker read the tier limits
        # at start, so it reads them again within a second here.
        server = _Serve(
            work / "route" / "var", ROUTE_TASK_SECONDS, VIDGATE_PROVIDER_LIMITS_REFRESH_SECONDS="1"
        )
        try:
            httpx.post(
                f"{server.emulator_url}/_emulator/config",
                json=KNOBS,
                headers=server.emulator_headers,
            ).raise_for_status()
            _wait_up(f"http://127.0.0.1:{port}/docs")
            time.sleep(1.5)  # past the limits' refresh

            async def side_by_side() -> tuple[float, dict[str, Any], dict[str, Any]]:
                route_wall = asyncio.create_task(_route_batch(f"http://127.0.0.1:{port}", 8))
                cold = await _vidgate_batch(server.url, ROUTE_JOBS, tag="cold")
                warm = await _vidgate_batch(server.url, ROUTE_JOBS, tag="warm")
                return await route_wall, cold, warm

            route_wall, cold, warm = asyncio.run(side_by_side())
        finally:
            server.stop()
            route.terminate()
            route.wait(timeout=30)
    task = PENDING_SECONDS + ROUTE_TASK_SECONDS
    limit = route_wall / task
    result: dict[str, Any] = {
        "jobs": ROUTE_JOBS,
        "task_seconds": task,
        "route_wall_seconds": round(route_wall, 2),
        "limit": round(limit, 2),
    }
    for name, batch in (("cold", cold), ("warm", warm)):
        ratio = route_wall / batch["wall_seconds"]
        result[name] = {
            **batch,
            "ratio": round(ratio, 2),
            "share_of_limit": round(ratio / limit, 3),
            "meets_goal": batch["succeeded"] == ROUTE_JOBS and ratio >= GOAL_LIMIT_SHARE * limit,
        }
    return result


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def run() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vidgate-bench-first-hour-"))
    try:
        first = first_video(work)
        route = beside_the_route(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "first_video": first,
        "route": route,
        "goal_first_video_extra_s": GOAL_FIRST_VIDEO_EXTRA,
        "goal_limit_share": GOAL_LIMIT_SHARE,
        "all_met": first["meets_goal"]
        and route["cold"]["meets_goal"]
        and route["warm"]["meets_goal"],
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
