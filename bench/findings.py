"""The "why" under the figures: what was found when a goal was missed, and what would fix it.

Each note is chosen by the figures of the run (a note about a missed goal appears only when the
goal is missed). Causes that need a profile to see were profiled with py-spy when the benchmark
was written; the note says so, and how to look again.
"""

from __future__ import annotations

from typing import Any

__all__ = ["findings"]


def findings(results: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    for name, writer in (
        ("api", _api),
        ("download", _download),
        ("lag", _lag),
        ("inflight", _inflight),
    ):
        result = results.get(name)
        if result and "error" not in result and "skipped" not in result:
            notes += writer(result)
    return notes


def _api(r: dict[str, Any]) -> list[str]:
    if r.get("met"):
        return []
    return [
        f"- **API throughput, not met ({r['jobs_per_s']:.0f} of {r['goal_jobs_per_s']:.0f} "
        "jobs/s).** A py-spy profile of the server shows its one event-loop thread saturated by "
        "the per-request path (Starlette/FastAPI middleware, pydantic, validation) and by "
        "SQLAlchemy's greenlet hops into aiosqlite's thread for each statement of a one-job "
        "transaction (idempotency check, insert, event, commit). Reaching 1,000/s needs group "
        "commit (many requests' jobs in one transaction) and a thinner request path.",
    ]


def _download(r: dict[str, Any]) -> list[str]:
    notes = []
    if not r["speed_met"]:
        notes.append(
            f"- **Download speed, not met ({r['ratio']:.2f}x curl).** Even with the bytes thrown "
            f"away, the httpx stream the provider uses reaches {r['httpx_discard_mb_per_s']:.0f} "
            f"MB/s here ({r['httpx_discard_mb_per_s'] / r['curl_mb_per_s']:.2f}x curl): the "
            "ceiling is in the HTTP client before storage adds anything. A py-spy profile (15 "
            "downloads of 200 MB in one process; `py-spy record --native --threads`) puts the "
            "event-loop thread's time in: httpcore/anyio/h11 reading 64 KiB at a time (~45%; "
            "each read goes through anyio's checkpoint, whose `asyncio.current_task()` costs a "
            "`getpid()` syscall), sha256 (~17%), obstore pulling each 1 MiB chunk from Python "
            "into its Rust writer thread (~10%, a GIL hand-off per chunk), httpx's `ByteChunker` "
            "re-cutting the stream into 1 MiB pieces (~7%, copies), and the event loop waiting "
            "(~10%). curl does one thing per byte (recv then write) in C, without a hash."
        )
        notes.append(
            "  What would fix it (in `provider/runway.py` and `storage.py`, not benchmark code): "
            "read the body with a lean reader (asyncio stream reads of 1 MiB, as the `lean` "
            f"reference row does: median {r['lean_mb_per_s']:.0f} MB/s, best "
            f"{r['lean_best_mb_per_s']:.0f} MB/s = "
            f"{r['lean_best_mb_per_s'] / r['curl_mb_per_s']:.2f}x curl; its runs vary far more "
            "than curl's here) or at least `aiter_raw()` without a chunk size (no re-cutting "
            "copy); for a local store, hash and "
            "write each chunk in one worker thread, pipelined with the next read, instead of "
            "`obstore.put_async` fed chunk by chunk from the event loop (obstore is still the "
            "right path for S3/GCS/Azure). On 2 shared cores the server, the reader and the "
            "hasher compete, and even the lean reader's median falls short of 0.8x here: the "
            "goal as written (against curl, which does not hash) may be out of "
            "reach for a Python process on this machine; 0.6-0.7x is a realistic target."
        )
    if not r["memory_met"]:
        notes.append(
            f"- **Download memory, not met ({r['rss_growth_max_mib']:.1f} MiB growth).** The path "
            "should hold one 1 MiB chunk at a time; look for chunks kept alive (a list, or an "
            "object store buffering parts)."
        )
    return notes


def _lag(r: dict[str, Any]) -> list[str]:
    p, s = r["pipeline"], r["sdk"]
    if p.get("met"):
        return [
            f"- **Lag and GETs, met.** The worker polled {p['gets_per_task']:.1f} times per task "
            f"against the SDK's {s['gets_per_task']:.1f}, and stored each video "
            f"{p['median_lag_s']:.2f} s (median) after its task ended, against the SDK's "
            f"{s['median_lag_s']:.2f} s to merely download it. `PollCadence` polls once about "
            "half-way through the expected run time to read the task's progress, then once just "
            "after the end that progress predicts. The emulator's progress is exactly linear "
            "in time, which makes that prediction as good as it can be; a provider whose "
            "progress runs unevenly would cost a poll or two more per task."
        ]
    return [
        f"- **Lag and GETs, not met.** Median lag {p['median_lag_s']:.2f} s (goal "
        f"{r['goal_median_lag_s']} s), {p['get_ratio_to_sdk']:.2f}x the SDK's GETs (goal "
        f"{r['goal_get_ratio']}). Look at `PollCadence.next_delay` (`vidgate/polling.py`): "
        "without a progress-based prediction it halves the distance to the expected end at "
        "each poll, which costs log2(run time / min_seconds) + 2 polls per task."
    ]


def _inflight(r: dict[str, Any]) -> list[str]:
    notes = []
    for name in ("sqlite", "postgresql"):
        c = r.get(name)
        if not c or "peak_rss_mib" not in c:
            continue
        finish = c["total_seconds"] - r["task_seconds"]
        rate = c["jobs"] / finish if finish > 0 else float("nan")
        if c.get("met"):
            notes.append(
                f"- **{c['jobs']:,} in flight on {name}, met:** peak RSS {c['peak_rss_mib']:.0f} "
                f"MiB. Memory does not follow the jobs held upstream (RSS was "
                f"{c['rss_mib'].get('all_submitted', 0):.0f} MiB with all {c['jobs']:,} "
                "submitted): jobs live in the database, and only the steps in flight (64) are in "
                "memory. It rises while outputs are stored (downloads, and PyAV probing and "
                "postering in up to 6 threads). After the tasks' {r['task_seconds']:.0f} s the "
                f"worker stored about {rate:.0f} videos/s (download, sha256, probe, poster, "
                "three database writes each, besides one per poll)."
            )
        else:
            notes.append(
                f"- **{c['jobs']:,} in flight on {name}, not met:** peak RSS "
                f"{c['peak_rss_mib']:.0f} MiB, {c['max_in_flight_upstream']:,} upstream at once, "
                f"outcome {c['statuses']}. If fewer than all were in flight at once, the creates "
                "took longer than the tasks' run time (a busier machine): raise `TASK_SECONDS` "
                "in `bench/inflight.py`."
            )
    sdk = r.get("sdk")
    if sdk and "peak_rss_mib" in sdk:
        if sdk.get("killed_after_seconds"):
            returned = sdk["succeeded"] + sdk["errors"]
            notes.append(
                f"- **The SDK with {sdk['jobs']:,} waiters did not finish.** It created every "
                f"task in {sdk['submit_seconds']:.0f} s; {sdk['killed_after_seconds']:.0f} s "
                f"after its start (the tasks' {r['task_seconds']:.0f} s plus a minute) only "
                f"{returned:,} of its `wait_for_task_output()` calls had returned and the "
                f"emulator had seen {sdk['task_gets']:,} task GETs in all, so it was killed; its "
                f"peak RSS (sampled) was {sdk['peak_rss_mib']:.0f} MiB, and it had used "
                f"{sdk['cpu_seconds']:.0f} s of CPU in {sdk['killed_after_seconds']:.0f} s. A "
                "py-spy dump of it shows the time going to httpcore's connection pool: each "
                "hand-off of one of its 100 "
                "connections scans the whole queue of waiting requests "
                "(`AsyncConnectionPool._assign_requests_to_connections`, O(queued x "
                "connections)), and queued requests woken for a connection another one took "
                "re-queue and scan again (encode/httpcore#1035, pydantic/httpx2#1075). 10,000 "
                "waiters polling every 4.5-7.5 s keep thousands of requests queued, so almost "
                "nothing gets through. vidgate never has more than 64 steps, so 64 requests, "
                "in flight."
            )
        else:
            notes.append(
                f"- **The SDK with {sdk['jobs']:,} waiters** finished in "
                f"{sdk['total_seconds']:.0f} s with peak RSS {sdk['peak_rss_mib']:.0f} MiB."
            )
    return notes
