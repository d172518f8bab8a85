"""The report's sections for the pipeline's benchmarks: lag, jobs in flight, scale-out, the
first hour (kept apart from the benchmarks, so that a change of wording leaves them fresh)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "first_hour_section",
    "first_hour_setups",
    "inflight_section",
    "lag_section",
    "met",
    "scale_section",
]


def met(flag: bool | None) -> str:
    if flag is None:
        return "**not measured**"
    return "**met**" if flag else "**not met**"


def lag_section(r: dict[str, Any]) -> list[str]:
    p, s = r["pipeline"], r["sdk"]
    lines = [
        "## 4. Lag from upstream finish to stored video, and task GETs",
        "",
        f"Goal (median lag <= {r['goal_median_lag_s']} s with at most "
        f"{r['goal_get_ratio']:.0%} of the SDK's GETs): {met(p.get('met'))} "
        f"(lag {met(p['median_lag_s'] <= r['goal_median_lag_s'])}, "
        f"GETs {met(p['get_ratio_to_sdk'] <= r['goal_get_ratio'])}).",
        "",
        f"{r['tasks']} tasks per client, run times {r['task_seconds']['min']:.0f}-"
        f"{r['task_seconds']['max']:.0f} s (seeded uniform, median "
        f"{r['task_seconds']['median']:.1f} s), all clients at the same time, each against its "
        "own emulator. Warm-up: each client first ran 3 tasks (25, 30, 35 s), not counted, so "
        "the worker's cadence had learned the model's run time (as a restarted `vidgate worker` "
        "does from its database).",
        "",
        "| client | median lag s | p90 lag s | max lag s | task GETs | GETs per task "
        "| GETs vs SDK | finished |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [("vidgate worker", p), ("official SDK, wait_for_task_output", s)]
    for label, c in rows:
        ratio = c.get("get_ratio_to_sdk", 1.0)
        lines.append(
            f"| {label} | {c['median_lag_s']:.2f} | {c['p90_lag_s']:.2f} | {c['max_lag_s']:.2f} "
            f"| {c['task_gets']} | {c['gets_per_task']:.2f} | {ratio:.2f} "
            f"| {c['finished']}/{c['tasks']} |"
        )
    lines += [
        "",
        "vidgate's lag ends when the job is written back SUCCEEDED: video downloaded, hashed, "
        "probed and postered. The SDK's ends when the streamed file is closed (no probe, no "
        "poster). GETs are the emulator's `taskGets` for the measured tasks.",
    ]
    return lines


def inflight_section(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## 5. {r['goal_jobs']:,} jobs in flight in one worker process, peak RSS <= "
        f"{r['goal_rss_mib']} MB",
        "",
    ]
    cases = [(name, r[name]) for name in ("sqlite", "postgresql") if name in r]
    verdicts = [
        f"{name}: {met(c.get('met'))}" if "peak_rss_mib" in c else f"{name}: {c['skipped']}"
        for name, c in cases
    ]
    if "postgresql" not in r:
        verdicts.append("postgresql: not run (`--no-postgresql`)")
    lines += [f"Goal: {'; '.join(verdicts)}.", ""]
    if r["jobs"] != r["goal_jobs"]:
        lines += [f"Run with {r['jobs']:,} jobs, not {r['goal_jobs']:,}.", ""]
    lines += [
        "| process | jobs | peak RSS MiB | upstream tasks in flight at once | time to submit all s "
        "| total s | task GETs (per task) | outcome | CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    rows = [(f"vidgate worker, {name}", c) for name, c in cases if "peak_rss_mib" in c]
    if "sdk" in r:
        rows.append(("official SDK, gather(wait_for_task_output)", r["sdk"]))
    for label, c in rows:
        total = c.get("total_seconds")
        if "statuses" in c:
            outcome = ", ".join(f"{v:,} {k}" for k, v in c["statuses"].items())
        else:
            outcome = f"{c['succeeded']:,} succeeded, {c['errors']:,} failed"
            if c.get("killed_after_seconds"):
                outcome += f"; killed after {c['killed_after_seconds']:.0f} s, unfinished"
                total = None
        cpu = f"{c['cpu_seconds']:.0f}" if "cpu_seconds" in c else "?"
        lines.append(
            f"| {label} | {c['jobs']:,} | {c['peak_rss_mib']:.0f} | "
            f"{c['max_in_flight_upstream']:,} | {c['submit_seconds']:.0f} | "
            f"{f'{total:.0f}' if total is not None else '-'} | "
            f"{c['task_gets']:,} ({c['gets_per_task']:.1f}) | {outcome} | {cpu} |"
        )
    lines += [
        "",
        f"Emulated tasks ran {r['task_seconds']:.0f} s (after 0.5 s PENDING) with "
        "no concurrency limit, so every task was still RUNNING upstream when the last one was "
        'created; "in flight at once" is the most tasks holding a slot at one instant, from '
        "the emulator's `startedAt`/`endedAt`. Peak RSS is the process's `ru_maxrss` (the "
        "parent's psutil samples, every 0.2 s, agree within a few MiB; a killed process is "
        "reported by those samples). The worker process also enqueued the "
        "jobs (`JobStore.create_job`) before its worker started; each job downloaded, probed "
        "and postered its own copy of the (identical) 2 s clip.",
    ]
    for name, c in cases:
        if "rss_mib" in c:
            stages = ", ".join(f"{k} {v:.0f}" for k, v in c["rss_mib"].items())
            lines.append(
                f"- {name}: RSS MiB by stage: {stages}; "
                f"enqueueing took {c['enqueue_seconds']:.0f} s."
            )
    return lines


def scale_section(r: dict[str, Any]) -> list[str]:
    statuses = ", ".join(f"{v:,} {k}" for k, v in r["statuses"].items())
    codes = ", ".join(f"{v} {k}" for k, v in r["failure_codes"].items()) or "none"
    no_double = r["duplicate_tasks"] == 0 and r["jobs_with_two_tasks"] == 0
    within = r["max_takeover_seconds"] <= r["recovery_bound_seconds"]
    return [
        f"## 6. Scale-out: {r['apis']} API and {r['workers']} worker processes on PostgreSQL, "
        "workers killed with kill -9",
        "",
        f"`bench/scale_out.py` (alone: `make bench-scale`). Goal: every job done "
        f"with exactly one upstream task ({met(no_double)}), a dead worker's jobs taken over "
        f"within the stated bound of {r['recovery_bound_seconds']:.1f} s ({met(within)}).",
        "",
        "| jobs | total s | jobs/s end to end | submit s | kills | takeover s (max) "
        "| upstream tasks | duplicate creates | jobs with 2 tasks | outcome |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {r['jobs']:,} | {r['seconds']:.0f} | {r['jobs_per_second']:.1f} | "
        f"{r['submit_seconds']:.0f} | {r['kills']} | "
        f"{', '.join(f'{s:.1f}' for s in r['takeover_seconds'])} "
        f"({r['max_takeover_seconds']:.1f}) | {r['tasks_created']:,} | "
        f"{r['duplicate_tasks']} | {r['jobs_with_two_tasks']} | {statuses} |",
        "",
        f"Lease (`VIDGATE_LEASE_SECONDS`) {r['lease_seconds']:g} s: the bound is the lease, "
        "plus one recovery tick, plus one poll (docs/deploy.md). Each emulated task ran "
        f"{r['task_seconds']:g} s; all processes shared this machine's 2 cores with PostgreSQL "
        f"and the emulator. Failure codes: {codes} (a kill between sending a create and "
        "recording its answer leaves that job SUBMISSION_UNCERTAIN: reported, never resent). "
        "Takeover is measured from the kill until no step the dead worker held is still held.",
    ]


_SETUPS = {
    "emulator_mode": "emulator mode (told the task time)",
    "external": "external emulator, as Runway (not told)",
}


def first_hour_setups(route: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The batches of each set-up (figures written before the external one: emulator mode)."""
    if "emulator_mode" not in route:
        return {"emulator_mode": {tag: route[tag] for tag in ("cold", "warm") if tag in route}}
    return {setup: route[setup] for setup in _SETUPS if setup in route}


def first_hour_section(r: dict[str, Any]) -> list[str]:
    """The section of :func:`bench.first_hour.run`'s figures."""
    f, route = r["first_video"], r["route"]
    gets = r.get("goal_gets", {"cold": 3, "warm": 2})
    lines = [
        "## 7. The first hour: the first video, and vidgate beside the naive route",
        "",
        f"Goal (first video stored within the task time + {r['goal_first_video_extra_s']} s, "
        "with progress seen between 0 and 1; beside the naive route at >= "
        f"{r['goal_limit_share']:.0%} of the limit in every batch, told the task time or not, "
        f"with at most {gets['cold']} task GETs per task cold and {gets['warm']} warm): "
        f"{met(r.get('all_met'))}. `bench/first_hour.py`.",
        "",
        f"First video: a fresh `vidgate serve` (emulator mode, {f['task_seconds']:g} s tasks), "
        f"one 5 s gen4.5 job: stored **{f['stored_seconds']:.2f} s** after it was created "
        f"(goal <= {f['task_seconds'] + r['goal_first_video_extra_s']:g} s), progress between "
        f"0 and 1 seen: {'yes' if f['progress_between'] else 'no'} ({met(f['meets_goal'])}).",
        "",
        f"{route['jobs']} concurrent requests, {route['task_seconds']:g} s tasks (pending + "
        "running), sent at once to the FastAPI route that wraps the sync SDK's "
        "`create().wait_for_task_output()` (`bench/seed_route.py`). While it worked through "
        "them, the same requests went to vidgate, batch after batch: in emulator mode, which "
        "tells it the task time, and reaching another emulator as it reaches Runway "
        "(`RUNWAYML_BASE_URL` and a secret), which does not; each cold (a fresh server on an "
        "empty data directory), then warm (the same server), and the external one restarted "
        "(a new process on that data directory). Every emulator: same knobs, no concurrency "
        f"limit. The route took {route['route_wall_seconds']:.1f} s, so the limit (its wall "
        f"time over one task's) is {route['limit']:.2f}x.",
        "",
        "| vidgate | batch | wall s (8 created -> 8 stored) | route / vidgate "
        "| share of the limit | task GETs per task (most) | progress between 0 and 1 | goal |",
        "|---|---|---:|---:|---:|---:|:---:|:---:|",
    ]
    for setup, batches in first_hour_setups(route).items():
        for tag, c in batches.items():
            gets = f"{c['gets_per_task']:.2f} ({c['max_polls']})" if "max_polls" in c else "?"
            lines.append(
                f"| {_SETUPS[setup]} | {tag} | {c['wall_seconds']:.2f} | {c['ratio']:.2f}x | "
                f"{c['share_of_limit']:.1%} | {gets} | "
                f"{'yes' if c['progress_between'] else 'no'} | {met(c['meets_goal'])} |"
            )
    lines += [
        "",
        "Task GETs are the emulator's count for the batch over its 8 tasks; in brackets, the "
        "most one job made (its `poll_count`). The limit and every ratio come from this run's "
        "route.",
    ]
    return lines
