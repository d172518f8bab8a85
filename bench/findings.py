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
        ("firsthour", _first_hour),
    ):
        result = results.get(name)
        if result and "error" not in result and "skipped" not in result:
            notes += writer(result)
    return notes


def _api(r: dict[str, Any]) -> list[str]:
    rates = ", ".join(f"{c['jobs_per_s']:.0f} jobs/s {c['case']}" for c in r["cases"])
    how = (
        "Concurrent creates share one transaction (`jobs/group_commit.py`: an idle writer "
        "starts at once with whatever waits, so batches grow with the load and a lone request "
        "waits for nothing); a batch is one idempotency lookup, one multi-row INSERT of jobs and "
        "one of events, and budgets are read once per key per batch. Answers about API keys "
        "are kept a second (`keys.py`), and the request path has no thread hop (an async "
        "context dependency). Before these, a py-spy profile showed 295 jobs/s spent on one "
        "transaction per job (a hop into aiosqlite's thread per statement) and on a key-count "
        "query per request."
    )
    if r.get("met"):
        return [f"- **API throughput, met ({rates}).** {how}"]
    return [
        f"- **API throughput, not met ({rates}).** {how} What is left is FastAPI/Starlette's "
        "per-request path and pydantic, on the one event-loop thread; profile with "
        "`py-spy record --nonblocking -p <server pid>` while `wrk` runs.",
    ]


def _download(r: dict[str, Any]) -> list[str]:
    httpx_ratio = r["httpx_discard_mb_per_s"] / r["curl_mb_per_s"]
    how = (
        "The output is opened by `provider/output_reader.py` (urllib, headers only) and copied "
        "by `Storage.save_from` on one worker thread: 1 MiB `readinto` (the socket read releases "
        "the GIL), sha256, write, again, then a rename: what curl does, plus the hash. The SDK's "
        "own client, httpx, reads 64 KiB at a time through h11 and anyio on the event loop: with "
        f"the bytes thrown away it reached {r['httpx_discard_mb_per_s']:.0f} MB/s here "
        f"({httpx_ratio:.2f}x curl). When the path was chosen (2026-11-21), httpx with storage "
        "ran at 0.43x curl (a py-spy profile put ~45% of the loop in httpcore/anyio/h11 reads, "
        "~17% in sha256, ~10% in obstore's per-chunk hand-off); a reader thread handing 4 MiB "
        "chunks through the event loop to a writer thread ran between 0.4x and 1x from run to "
        "run, and so did the one-thread copy with a 4 MiB buffer; with 1 MiB it ran steadily at "
        "curl's speed or better."
    )
    notes = []
    if r["speed_met"]:
        notes.append(f"- **Download speed, met ({r['ratio']:.2f}x curl).** {how}")
    else:
        notes.append(
            f"- **Download speed, not met ({r['ratio']:.2f}x curl).** {how} curl does one thing "
            "per byte (recv then write) in C, without a hash; on 2 shared cores the server, the "
            "reader and the hasher compete."
        )
    if not r["memory_met"]:
        notes.append(
            f"- **Download memory, not met ({r['rss_growth_max_mib']:.1f} MiB growth).** The "
            "path should hold one 1 MiB buffer; look for chunks kept alive "
            "(a list, or an object store buffering parts)."
        )
    return notes


def _lag(r: dict[str, Any]) -> list[str]:
    p, s = r["pipeline"], r["sdk"]
    if p.get("met"):
        return [
            f"- **Lag and GETs, met.** The worker polled {p['gets_per_task']:.1f} times per task "
            f"against the SDK's {s['gets_per_task']:.1f}, and stored each video "
            f"{p['median_lag_s']:.2f} s (median) after its task ended, against the SDK's "
            f"{s['median_lag_s']:.2f} s to merely download it. `PollCadence` polls once most of "
            "the way to the earliest typical finish to read the task's progress, then once just "
            "after the end that progress predicts. The emulator's progress is exactly linear "
            "in time, which makes that prediction as good as it can be; a provider whose "
            "progress runs unevenly would cost a poll or two more per task."
        ]
    return [
        f"- **Lag and GETs, not met.** Median lag {p['median_lag_s']:.2f} s (goal "
        f"{r['goal_median_lag_s']} s), {p['get_ratio_to_sdk']:.2f}x the SDK's GETs (goal "
        f"{r['goal_get_ratio']}). Look at `PollCadence.next_delay` "
        "(`vidgate/pipeline/polling.py`): "
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
                f"postering in up to 6 threads). After the tasks' {r['task_seconds']:.0f} s the "
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


def _first_hour(r: dict[str, Any]) -> list[str]:
    from bench.sections import first_hour_setups

    f, route = r["first_video"], r["route"]
    batches = first_hour_setups(route)
    shares = "; ".join(
        f"{setup.replace('_', ' ')}: "
        + ", ".join(f"{c['share_of_limit']:.1%} {tag}" for tag, c in runs.items())
        for setup, runs in batches.items()
    )
    told = (
        "In emulator mode the cadence's prior is the emulator's own task time (pending + "
        "running), so even a fresh server polls once at about 80 % of the task, reads a progress "
        "figure, and polls again just after the end it predicts."
    )
    notes = [
        f"- **The first hour, {'met' if r.get('all_met') else 'not met'}.** First video stored "
        f"{f['stored_seconds']:.2f} s after its job was created (5 s task); beside the naive "
        f"route, share of the limit: {shares}. {told} What remains between a task's end and a "
        "stored video is the worker's wake-up (up to 0.25 s), the download, hash, probe and "
        "poster, and before the task exists, the claim and the create call."
    ]
    missed = [
        (setup, tag, c)
        for setup, runs in batches.items()
        for tag, c in runs.items()
        if not c["meets_goal"]
    ]
    if missed:
        setup, tag, c = min(missed, key=lambda m: m[2]["share_of_limit"])
        stored = c["stored_seconds"]
        gets_ok = all(
            c.get("max_polls", 0) <= r.get("goal_gets", {}).get(t, 3) for _, t, c in missed
        )
        notes.append(
            f"- **Where the misses went.** The furthest, {setup.replace('_', ' ')} {tag} at "
            f"{c['share_of_limit']:.1%}: its 8 videos were stored {stored[0]:.2f} to "
            f"{stored[-1]:.2f} s after their jobs were created, for {route['task_seconds']:g} s "
            "tasks"
            + (", with task GETs per task within the goal" if gets_ok else "")
            + ". Between a task's end and its stored video come the poll, the download, hash, "
            "probe and poster of 8 videos at once; before the task exists, the create call, of "
            "which a worker sends 4 at a time (`VIDGATE_SUBMIT_CONCURRENCY`), so on a loaded "
            "machine the second four start a create's latency later. Load average at the "
            f"start: {', '.join(str(x) for x in r.get('load_average', ['?']))} (2 cores)."
        )
    external = batches.get("external")
    if external:
        gets = ", ".join(
            f"{c['gets_per_task']:.2f} {tag} (most {c['max_polls']})" for tag, c in external.items()
        )
        notes.append(
            "- **Not told the task time** (an emulator reached as Runway is), a fresh server "
            "polls each task of a model it has not learned at a sixth of the speed class's prior "
            "(10 s for gen4.5's 60 s; never before Runway's first progress update, 5 s), reads a "
            "progress figure, and when that leaves a long way, reads it once more at least 5 s "
            "later (Runway updates progress no faster), so that the rate of the two, not a guess "
            "at the pending time, predicts the end; then it polls just after that end. The "
            "first task to end teaches the model its run time, and from then on a task costs "
            "two GETs; a restarted server learns it from the jobs it stored (from the create's "
            f"answer to stored, so local queueing is left out). Task GETs per task: {gets}. "
            "Before, a fresh server's first poll came at the end of the 60 s prior (clamped to "
            "30 s), long after a 20.5 s task had ended."
        )
    return notes
