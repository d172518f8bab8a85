"""Many jobs in flight at once in one worker process: peak RSS, time to submit, GETs, outcome.

The goal (issue): 10,000 jobs in flight in one worker process with peak RSS at most 500 MB.

The emulator runs in a process of its own (:mod:`bench.emulator_proc`), with no concurrency or
daily limit on the model and tasks long enough that every task is still RUNNING upstream when
the last one is submitted. Every job asks for the same 2 s clip with the same seed, so the
emulator renders it once and serves the rest from its render cache
(:mod:`vidgate.emulator.render_cache`); each job still downloads, hashes, probes and posters
its own copy.

The worker is vidgate's own, wired as ``vidgate worker`` wires it, with its defaults (64 steps
at once, 4 creates in flight, polls 1-30 s apart), in a fresh process (``python -m
bench.inflight pipeline ...``) whose peak RSS is its own: ``ru_maxrss``, and the parent's
psutil samples as a cross-check. Jobs are enqueued in the same process before the worker starts.

Side by side, the official SDK in one process: ``create`` every task, then ``asyncio.gather``
of ``wait_for_task_output()`` on all of them (the SDK's defaults), no download.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from bench.common import MIB, parse_iso, run_child
from bench.emulator_proc import EmulatorProcess, RemoteEmulator

__all__ = ["GOAL_JOBS", "GOAL_RSS_MIB", "REQUEST", "run"]

GOAL_JOBS: Final = 10_000
GOAL_RSS_MIB: Final = 500
# Long enough that the last of 10,000 creates (75 to 260 s here, with the machine's load) comes
# before the first task ends, so every task is RUNNING upstream at once.
TASK_SECONDS: Final = 300.0
# The SDK gets the task time plus this long to finish, then is reported as it stands.
SDK_GRACE_SECONDS: Final = 60.0
PG_ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB: Final = "vidgate_bench"
REQUEST: Final[dict[str, Any]] = {
    "model": "gen4.5",
    "promptText": "a lighthouse on a cliff at dusk",
    "ratio": "1280:720",
    "duration": 2,
    "seed": 7,
}


def _rss_mib() -> float:
    import psutil  # type: ignore[import-untyped]

    return round(int(psutil.Process().memory_info().rss) / MIB, 1)


def _maxrss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _scratch(prefix: str) -> Path:
    """A temporary directory removed when this process exits (outputs run to gigabytes)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


# --- the worker process ----------------------------------------------------------------------


async def _pipeline_case(
    n: int, base_url: str, database_url: str, max_seconds: float
) -> dict[str, Any]:
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
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    media = _scratch("vidgate-bench-media-")
    provider = RunwayProvider(api_key=EMULATOR_API_KEY, base_url=base_url)
    store = JobStore(engine)
    pipeline = Pipeline(
        StepContext(
            store=store,
            provider=provider,
            storage=Storage.from_url(media.as_uri()),
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
    rss: dict[str, float] = {"start": _rss_mib()}

    start = time.perf_counter()
    for _ in range(n):
        await store.create_job(endpoint="text_to_video", model=REQUEST["model"], request=REQUEST)
    enqueue_seconds = time.perf_counter() - start
    rss["enqueued"] = _rss_mib()

    stop = asyncio.Event()
    start = time.perf_counter()
    runner = asyncio.create_task(worker.run(stop))
    submitted_seconds = None
    waiting = {Status.QUEUED, Status.SUBMITTING}
    counts: dict[Status, int] = {}
    try:
        while True:
            await asyncio.sleep(1.0)
            counts = await store.count_by_status()
            if submitted_seconds is None and not any(counts.get(s) for s in waiting):
                submitted_seconds = time.perf_counter() - start
                rss["all_submitted"] = _rss_mib()
            if all(status.is_terminal for status, c in counts.items() if c):
                break
            if time.perf_counter() - start > max_seconds:
                break
    finally:
        total_seconds = time.perf_counter() - start
        stop.set()
        await runner
    rss["end"] = _rss_mib()
    await provider.aclose()
    await engine.dispose()
    stored = await asyncio.to_thread(lambda: sum(1 for _ in media.glob("jobs/*/video.mp4")))
    return {
        "jobs": n,
        "enqueue_seconds": round(enqueue_seconds, 1),
        "submit_seconds": round(submitted_seconds or total_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "statuses": {str(s.value): c for s, c in counts.items() if c},
        "videos_stored": stored,
        "rss_mib": rss,
        "peak_rss_mib": _maxrss_mib(),
        "cpu_seconds": round(time.process_time(), 1),
    }


# --- the SDK process -------------------------------------------------------------------------


async def _sdk_case(n: int, base_url: str) -> None:
    """Create every task (16 creates at a time), then gather ``wait_for_task_output()`` on all.

    Progress is printed as JSON lines as it goes (the parent may have to kill a stuck client).
    """
    import runwayml

    from vidgate.runtime import EMULATOR_API_KEY

    def report(**figures: Any) -> None:
        print(json.dumps(figures), flush=True)

    client = runwayml.AsyncRunwayML(api_key=EMULATOR_API_KEY, base_url=base_url)
    creating = asyncio.Semaphore(16)
    start = time.perf_counter()
    report(jobs=n, rss_mib={"start": _rss_mib()})

    async def create() -> Any:
        async with creating:
            return await client.text_to_video.create(
                model=REQUEST["model"],
                prompt_text=REQUEST["promptText"],
                ratio=REQUEST["ratio"],
                duration=REQUEST["duration"],
                seed=REQUEST["seed"],
            )

    created = await asyncio.gather(*(create() for _ in range(n)))
    submit_seconds = time.perf_counter() - start
    report(submit_seconds=round(submit_seconds, 1), succeeded=0, errors=0)
    outcomes: list[str] = []

    async def wait(task: Any) -> None:
        try:
            done = await task.wait_for_task_output(timeout=None)
            outcomes.append(str(done.status))
        except Exception as exc:  # TaskFailedError, APIError: count it, keep going
            outcomes.append(repr(exc)[:200])
        if len(outcomes) % 250 == 0 or len(outcomes) == n:
            succeeded = outcomes.count("SUCCEEDED")
            report(succeeded=succeeded, errors=len(outcomes) - succeeded)

    await asyncio.gather(*(wait(task) for task in created))
    succeeded = outcomes.count("SUCCEEDED")
    report(
        total_seconds=round(time.perf_counter() - start, 1),
        succeeded=succeeded,
        errors=len(outcomes) - succeeded,
        first_error=next((o for o in outcomes if o != "SUCCEEDED"), None),
        peak_rss_mib=_maxrss_mib(),
        cpu_seconds=round(time.process_time(), 1),
    )
    await client.close()


# --- the parent ------------------------------------------------------------------------------


def _max_overlap(tasks: list[dict[str, Any]]) -> int:
    """The most tasks holding a slot (PENDING or RUNNING) upstream at one instant."""
    edges: list[tuple[float, int]] = []
    for task in tasks:
        if task.get("startedAt"):
            edges.append((parse_iso(task["startedAt"]), 1))
            if task.get("endedAt"):  # else still holding its slot
                edges.append((parse_iso(task["endedAt"]), -1))
    edges.sort()
    best = current = 0
    for _, step in edges:
        current += step
        best = max(best, current)
    return best


def _prepare(emulator: RemoteEmulator, task_seconds: float) -> None:
    emulator.reset()
    emulator.control(
        taskSeconds=task_seconds,
        pendingSeconds=0.5,
        concurrency={REQUEST["model"]: None},
        dailyLimit={REQUEST["model"]: None},
        creditBalance=10**9,
    )


def _measure(
    emulator: RemoteEmulator,
    task_seconds: float,
    args: list[str],
    *,
    kill_after: float | None = None,
) -> dict[str, Any]:
    _prepare(emulator, task_seconds)
    result = run_child("bench.inflight", *args, timeout=1800, kill_after=kill_after)
    if "peak_rss_mib" not in result:  # killed before it could say: the parent's samples
        result["peak_rss_mib"] = result["sampled_peak_rss_mib"]
    stats = emulator.stats()
    tasks = emulator.tasks()
    result["task_seconds"] = task_seconds
    result["task_gets"] = stats["taskGets"]
    result["tasks_created"] = stats["tasksCreated"]["total"]
    result["max_in_flight_upstream"] = _max_overlap(tasks)
    result["gets_per_task"] = round(stats["taskGets"] / max(1, len(tasks)), 2)
    return result


def _create_pg_database() -> str | None:
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:
        return None

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
            await conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"


def _drop_pg_database() -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        finally:
            await conn.close()

    asyncio.run(drop())


def run(
    n: int = GOAL_JOBS,
    *,
    task_seconds: float = TASK_SECONDS,
    postgresql: bool = False,
    pipeline_max_seconds: float = 1200.0,
) -> dict[str, Any]:
    """The worker on SQLite (and PostgreSQL), then the SDK, each against a reset emulator."""
    results: dict[str, Any] = {
        "jobs": n,
        "task_seconds": task_seconds,
        "goal_rss_mib": GOAL_RSS_MIB,
        "goal_jobs": GOAL_JOBS,
    }
    limit = str(pipeline_max_seconds)
    with EmulatorProcess(1) as (emulator,), tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        results["sqlite"] = _measure(
            emulator, task_seconds, ["pipeline", str(n), emulator.base_url, sqlite_url, limit]
        )
        print(f"inflight sqlite: {json.dumps(results['sqlite'])}", file=sys.stderr)
        if postgresql:
            pg_url = _create_pg_database()
            if pg_url is None:
                results["postgresql"] = {"skipped": f"no PostgreSQL at {PG_ADMIN_URL}"}
            else:
                try:
                    results["postgresql"] = _measure(
                        emulator,
                        task_seconds,
                        ["pipeline", str(n), emulator.base_url, pg_url, limit],
                    )
                finally:
                    _drop_pg_database()
            print(f"inflight pg: {json.dumps(results['postgresql'])}", file=sys.stderr)
        results["sdk"] = _measure(
            emulator,
            task_seconds,
            ["sdk", str(n), emulator.base_url],
            kill_after=task_seconds + SDK_GRACE_SECONDS,
        )
        print(f"inflight sdk: {json.dumps(results['sdk'])}", file=sys.stderr)
    for name in ("sqlite", "postgresql"):
        case = results.get(name, {})
        if "peak_rss_mib" in case:
            case["met"] = (
                case["peak_rss_mib"] <= GOAL_RSS_MIB
                and case["max_in_flight_upstream"] >= GOAL_JOBS
                and case["statuses"] == {"succeeded": n}
            )
    return results


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "pipeline":
        n, base_url, database_url, limit = int(argv[1]), argv[2], argv[3], float(argv[4])
        profile = os.environ.get("BENCH_PROFILE")  # a path: write cProfile stats there
        if profile:
            import cProfile

            with cProfile.Profile() as profiler:
                result = asyncio.run(_pipeline_case(n, base_url, database_url, limit))
            profiler.dump_stats(profile)
        else:
            result = asyncio.run(_pipeline_case(n, base_url, database_url, limit))
        print(json.dumps(result))
    elif mode == "sdk":
        asyncio.run(_sdk_case(int(argv[1]), argv[2]))
    else:
        n = int(argv[1]) if len(argv) > 1 else GOAL_JOBS
        print(json.dumps(run(n, postgresql="--postgresql" in argv), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
