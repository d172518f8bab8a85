"""Lag from a task's upstream end to its video being stored, and the task GETs that cost.

The goal (issue): median lag at most 1.5 s while making at most half the task GETs of the
official SDK's ``wait_for_task_output``.

Two clients run at the same time, each against its own emulator (one child process holds both),
so each emulator's ``taskGets`` counts one client only:

- ``pipeline``: vidgate's worker as ``vidgate worker`` wires it (polls 1-30 s apart, 64 steps at
  once), SQLite, ``file://`` storage. Lag = the job's ``finished_at`` (video downloaded, hashed,
  probed, postered and the job written back) minus the task's ``endedAt`` on the emulator.
- ``sdk``: ``create(...)`` then ``wait_for_task_output()`` (the SDK's helper: a GET every
  4.5-7.5 s), then the output streamed to a file with httpx. Lag = file closed minus ``endedAt``.

Workload, the same for every client: ``N`` tasks, created one after another, each with its own
run time drawn once from a seeded uniform 20-40 s (the emulator's ``taskSeconds`` is set before
each create), 0.5 s PENDING first, no concurrency limit. Before the measured batch each client
runs a warm-up of 3 tasks (25, 30 and 35 s) whose GETs and lags are not counted: the worker's
cadence learns a model's run time from finished tasks (a fresh ``vidgate worker`` learns it from
the jobs in its database at start-up), and a cold one assumes 60 s for a "standard" model.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any, Final

import httpx

from bench.common import ROOT, median, parse_iso, percentile
from bench.emulator_proc import EmulatorProcess
from vidgate.emulator.app import CONTROL_TOKEN_HEADER

__all__ = ["GOAL_GET_RATIO", "GOAL_MEDIAN_LAG", "run"]

GOAL_MEDIAN_LAG: Final = 1.5
GOAL_GET_RATIO: Final = 0.5
WARMUP_SECONDS: Final = (25.0, 30.0, 35.0)
REQUEST: Final[dict[str, Any]] = {
    "model": "gen4.5",
    "promptText": "a lighthouse on a cliff at dusk",
    "ratio": "1280:720",
    "duration": 2,
    "seed": 7,
}


def durations(n: int, seed: int = 20) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(20.0, 40.0), 2) for _ in range(n)]


class _Control:
    """The emulator's control endpoint, async, for use inside a client's event loop."""

    def __init__(self, base_url: str) -> None:
        # The parent hands the emulator's control token down in the environment.
        headers = {CONTROL_TOKEN_HEADER: os.environ.get("BENCH_EMULATOR_TOKEN", "")}
        self._http = httpx.AsyncClient(
            base_url=f"{base_url}/_emulator", headers=headers, timeout=60
        )

    async def set_task_seconds(self, seconds: float) -> None:
        response = await self._http.post("/config", json={"taskSeconds": seconds})
        response.raise_for_status()

    async def task_gets(self) -> int:
        response = await self._http.get("/stats")
        response.raise_for_status()
        return int(response.json()["taskGets"])

    async def ended_at(self) -> dict[str, float]:
        response = await self._http.get("/tasks")
        response.raise_for_status()
        return {t["id"]: parse_iso(t["endedAt"]) for t in response.json() if t.get("endedAt")}

    async def prepare(self) -> None:
        response = await self._http.post("/reset")
        response.raise_for_status()
        knobs = {
            "pendingSeconds": 0.5,
            "concurrency": {REQUEST["model"]: None},
            "dailyLimit": {REQUEST["model"]: None},
            "creditBalance": 10**9,
        }
        response = await self._http.post("/config", json=knobs)
        response.raise_for_status()

    async def aclose(self) -> None:
        await self._http.aclose()


def _summary(lags: list[float], gets: int, n: int, wall: float) -> dict[str, Any]:
    return {
        "tasks": n,
        "finished": len(lags),
        "median_lag_s": round(median(lags), 3),
        "p90_lag_s": round(percentile(lags, 0.9), 3),
        "max_lag_s": round(max(lags, default=float("nan")), 3),
        "task_gets": gets,
        "gets_per_task": round(gets / n, 2),
        "wall_seconds": round(wall, 1),
    }


def _scratch(prefix: str) -> Path:
    """A temporary directory removed when this process exits (outputs run to gigabytes)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


# --- vidgate's worker ------------------------------------------------------------------------


async def _pipeline(base_url: str, times: list[float]) -> dict[str, Any]:
    from vidgate.catalog import get_catalog
    from vidgate.db.engine import create_engine
    from vidgate.jobs.status import Status
    from vidgate.jobs.store import JobStore
    from vidgate.migrations import upgrade_database
    from vidgate.pipeline.context import StepContext
    from vidgate.pipeline.polling import PollCadence
    from vidgate.pipeline.runner import Pipeline
    from vidgate.pipeline.worker import Worker
    from vidgate.provider.limits import ProviderLimits
    from vidgate.provider.runway import RunwayProvider
    from vidgate.runtime import EMULATOR_API_KEY
    from vidgate.settings import Settings
    from vidgate.storage import Storage

    defaults = {name: f.default for name, f in Settings.model_fields.items()}
    control = _Control(base_url)
    await control.prepare()
    tmp = _scratch("vidgate-bench-lag-")
    database_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    store = JobStore(engine)
    provider = RunwayProvider(api_key=EMULATOR_API_KEY, base_url=base_url)
    pipeline = Pipeline(
        StepContext(
            store=store,
            provider=provider,
            storage=Storage.from_url((tmp / "media").as_uri()),
            catalog=get_catalog(),
            cadence=PollCadence(
                min_seconds=defaults["poll_min_seconds"], max_seconds=defaults["poll_max_seconds"]
            ),
            internal_retry_limit=defaults["internal_retry_limit"],
            submit_concurrency=defaults["submit_concurrency"],
            limits=ProviderLimits(provider),
        )
    )
    worker = Worker(pipeline, concurrency=64, lease_seconds=defaults["lease_seconds"])
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop))

    async def batch(seconds: list[float]) -> list[str]:
        ids = []
        for value in seconds:
            await control.set_task_seconds(value)
            created = await store.create_job(
                endpoint="text_to_video", model=REQUEST["model"], request=REQUEST
            )
            worker.wake()
            while True:  # wait until it is submitted, so the next create gets its own time
                job = await store.get_job(created.job.id)
                if job.status not in (Status.QUEUED, Status.SUBMITTING):
                    break
                await asyncio.sleep(0.01)
            ids.append(created.job.id)
        while True:
            jobs = [await store.get_job(i) for i in ids]
            if all(j.status.is_terminal for j in jobs):
                return ids
            await asyncio.sleep(0.5)

    try:
        await batch(list(WARMUP_SECONDS))
        gets_before = await control.task_gets()
        start = time.perf_counter()
        ids = await batch(times)
        wall = time.perf_counter() - start
        gets = await control.task_gets() - gets_before
    finally:
        stop.set()
        await runner
    ended = await control.ended_at()
    lags = []
    statuses: dict[str, int] = {}
    for job_id in ids:
        job = await store.get_job(job_id)
        statuses[job.status.value] = statuses.get(job.status.value, 0) + 1
        if job.status is Status.SUCCEEDED and job.finished_at and job.task_id in ended:
            finished = job.finished_at
            if finished.tzinfo is None:  # SQLite hands back naive UTC datetimes
                finished = finished.replace(tzinfo=UTC)
            lags.append(finished.timestamp() - ended[job.task_id])
    await control.aclose()
    await provider.aclose()
    await engine.dispose()
    result = _summary(lags, gets, len(times), wall)
    result["statuses"] = statuses
    result["expected_seconds_learned"] = round(
        pipeline.context.cadence.expected_seconds(REQUEST["model"]), 2
    )
    return result


# --- the official SDK ------------------------------------------------------------------------


async def _sdk(base_url: str, times: list[float]) -> dict[str, Any]:
    import runwayml

    from vidgate.runtime import EMULATOR_API_KEY

    control = _Control(base_url)
    await control.prepare()
    client = runwayml.AsyncRunwayML(api_key=EMULATOR_API_KEY, base_url=base_url)
    downloads = httpx.AsyncClient(timeout=60)
    tmp = _scratch("vidgate-bench-sdk-")
    written: dict[str, float] = {}

    async def follow(task: Any) -> None:
        done = await task.wait_for_task_output(timeout=None)
        path = tmp / f"{done.id}.mp4"
        async with downloads.stream("GET", done.output[0]) as response:
            response.raise_for_status()
            with path.open("wb") as handle:
                async for chunk in response.aiter_bytes():
                    handle.write(chunk)
        written[done.id] = time.time()

    async def batch(seconds: list[float]) -> list[str]:
        followers = []
        ids = []
        for value in seconds:
            await control.set_task_seconds(value)
            task = await client.text_to_video.create(
                model=REQUEST["model"],
                prompt_text=REQUEST["promptText"],
                ratio=REQUEST["ratio"],
                duration=REQUEST["duration"],
                seed=REQUEST["seed"],
            )
            ids.append(task.id)
            followers.append(asyncio.create_task(follow(task)))
        await asyncio.gather(*followers)
        return ids

    await batch(list(WARMUP_SECONDS))
    gets_before = await control.task_gets()
    start = time.perf_counter()
    ids = await batch(times)
    wall = time.perf_counter() - start
    gets = await control.task_gets() - gets_before
    ended = await control.ended_at()
    lags = [written[i] - ended[i] for i in ids if i in written and i in ended]
    await control.aclose()
    await client.close()
    await downloads.aclose()
    return _summary(lags, gets, len(times), wall)


# --- the parent ------------------------------------------------------------------------------


def run(n: int = 200) -> dict[str, Any]:
    """Both clients at once, each in its own process against its own emulator."""
    clients = ["pipeline", "sdk"]
    times = durations(n)
    results: dict[str, Any] = {
        "tasks": n,
        "task_seconds": {"min": min(times), "median": median(times), "max": max(times)},
        "goal_median_lag_s": GOAL_MEDIAN_LAG,
        "goal_get_ratio": GOAL_GET_RATIO,
    }
    with EmulatorProcess(len(clients)) as emulators:
        children = {
            name: subprocess.Popen(
                [sys.executable, "-m", "bench.lag", name, emulator.base_url, str(n)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "BENCH_EMULATOR_TOKEN": emulator.control_token or ""},
            )
            for name, emulator in zip(clients, emulators, strict=True)
        }
        for name, child in children.items():
            out, _ = child.communicate(timeout=900)
            if child.returncode != 0:
                raise RuntimeError(f"bench.lag {name} exited with {child.returncode}")
            results[name] = json.loads(out.strip().splitlines()[-1])
    case = results["pipeline"]
    case["get_ratio_to_sdk"] = round(case["task_gets"] / max(1, results["sdk"]["task_gets"]), 3)
    case["met"] = (
        case["finished"] == n
        and case["median_lag_s"] <= GOAL_MEDIAN_LAG
        and case["get_ratio_to_sdk"] <= GOAL_GET_RATIO
    )
    return results


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("pipeline", "sdk"):
        name, base_url, n = argv[0], argv[1], int(argv[2])
        times = durations(n)
        if name == "sdk":
            result = asyncio.run(_sdk(base_url, times))
        else:
            result = asyncio.run(_pipeline(base_url, times))
        print(json.dumps(result))
    else:
        n = int(argv[0]) if argv else 200
        print(json.dumps(run(n), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
