"""Run every benchmark, print a markdown report and write it to ``docs/benchmarks.md``.

``make bench`` runs ``python -m bench.run``. Options: ``--only
render,api,download,lag,inflight,firsthour`` (a subset: its sections replace the same sections of
the report already written, the others are kept with the date they were measured), ``--only scale``
(``make bench-scale``: API and worker processes on PostgreSQL with workers killed,
:mod:`bench.scale_out`), ``--jobs N`` (in-flight jobs, default 10,000), ``--lag-tasks N`` (default
200), ``--postgresql`` (also run the in-flight case on the local PostgreSQL, in a scratch database
``vidgate_bench`` dropped afterwards; about 6 more minutes, so ``make bench`` leaves it out).

Each benchmark returns a dict of figures and its goal; this module only formats them. The
machine is shared and has few cores, so each benchmark compares its contenders in the same run
(side by side, or alternating); absolute times move from run to run, the ratios less so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench.common import ROOT, machine

__all__ = ["main", "report"]

DOCS = ROOT / "docs" / "benchmarks.md"
NAMES = ("render", "api", "download", "lag", "inflight", "firsthour", "scale")
# Not part of a plain `make bench` (it needs PostgreSQL and takes minutes): `make bench-scale`.
DEFAULT_NAMES = NAMES[:-1]


def _met(flag: bool | None) -> str:
    if flag is None:
        return "**not measured**"
    return "**met**" if flag else "**not met**"


def _render_section(r: dict[str, Any]) -> list[str]:
    from bench.render_bench import CASES

    lines = [
        "## 1. Render: a 5 s 1280:720 output in at most 1 s of CPU",
        "",
        f"Goal: {_met(r.get('all_meet_cpu_goal'))}. Each case renders in a fresh interpreter "
        "(`bench/render_bench.py`), so its peak RSS is its own.",
        "",
        "| case | frames | CPU s (render) | CPU s (whole process) | wall s | peak RSS MiB "
        "| output KiB | CPU <= 1 s |",
        "|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for case in CASES:
        c = r[case]
        lines.append(
            f"| {case} | {c['frames']} | {c['cpu_seconds']:.3f} | {c['process_cpu_seconds']:.3f} "
            f"| {c['wall_seconds']:.3f} | {c['peak_rss_mib']:.1f} | {c['output_bytes'] / 1024:.0f} "
            f"| {'yes' if c['meets_cpu_goal'] else 'no'} |"
        )
    lines += [
        "",
        "CPU s (render) is the render call alone; CPU s (whole process) adds interpreter start "
        "and imports.",
    ]
    return lines


def _api_section(r: dict[str, Any]) -> list[str]:
    from bench.api_throughput import report as api_report

    if "skipped" in r:
        return [
            "## 2. API: sustained `POST /v1/generations` on SQLite",
            "",
            f"Not measured: {r['skipped']}.",
        ]
    return [
        "## 2. API: sustained `POST /v1/generations` on SQLite",
        "",
        f"Goal (at least {r['goal_jobs_per_s']:.0f} jobs/s, every 202 stored): {_met(r['met'])}. "
        "`vidgate serve --no-worker` (emulator mode, SQLite) in its own process, a fresh "
        f"database per row; `wrk` (one thread, `bench/api_load.lua`) keeps {r['in_flight']} "
        f"requests in flight for {r['duration_s']} s after a 3 s warm-up, each a new job with "
        "its own Idempotency-Key (`bench/api_throughput.py`).",
        "",
        api_report(r),
        "",
        "Server CPU ms/job is the server process's user+system CPU over the measured run divided "
        "by its 202s. Stored: after the server stopped, its database held every job whose 202 "
        "was read (warm-up included), plus those of the requests in flight when wrk stopped "
        "(at most 64 per run; their answers are never read).",
    ]


def _download_section(r: dict[str, Any]) -> list[str]:
    head = "## 3. A 200 MB output stored at >= 0.8x curl's speed, RSS growth <= 32 MB"
    if "skipped" in r:
        return [head, "", f"Not measured: {r['skipped']}."]
    curl_runs = ", ".join(f"{x['mb_per_s']:.0f}" for x in r["curl"])
    ours_runs = ", ".join(f"{x['mb_per_s']:.0f}" for x in r["pipeline"])
    lines = [
        head,
        "",
        f"Goal: {_met(r['met'])} (speed {_met(r['speed_met'])}, memory {_met(r['memory_met'])}).",
        "",
        "| | median MB/s | runs MB/s | ratio to curl | RSS growth MiB (median, max) |",
        "|---|---:|---|---:|---:|",
        f"| curl -s -o FILE | {r['curl_mb_per_s']:.0f} | {curl_runs} | 1.00 | |",
        f"| vidgate: `save_from(key, body)` of `provider.open_output(url)` "
        f"| {r['pipeline_mb_per_s']:.0f} "
        f"| {ours_runs} | {r['ratio']:.2f} "
        f"| {r['rss_growth_mib']:.1f}, {r['rss_growth_max_mib']:.1f} |",
        f"| reference: httpx (the SDK's client), bytes discarded "
        f"| {r['httpx_discard_mb_per_s']:.0f} "
        f"| | {r['httpx_discard_mb_per_s'] / r['curl_mb_per_s']:.2f} | |",
        "",
        f"{r['rounds']} rounds, alternating curl and vidgate; 200 MB (200,000,000 bytes) of random "
        "data served with `sendfile` by a plain HTTP server in its own process. vidgate's figure "
        "is the `open_output` + `save_from` calls (download, sha256 on the fly, write under a "
        "temporary name, rename); its RSS growth is the peak during the call minus the RSS just "
        "before it (psutil, every 10 ms, after a 1 MiB warm-up download). The reference row is "
        "not vidgate's code: it shows how fast the SDK's HTTP client reads here "
        "(`bench/download.py`).",
    ]
    return lines


def _lag_section(r: dict[str, Any]) -> list[str]:
    p, s = r["pipeline"], r["sdk"]
    lines = [
        "## 4. Lag from upstream finish to stored video, and task GETs",
        "",
        f"Goal (median lag <= {r['goal_median_lag_s']} s with at most "
        f"{r['goal_get_ratio']:.0%} of the SDK's GETs): {_met(p.get('met'))} "
        f"(lag {_met(p['median_lag_s'] <= r['goal_median_lag_s'])}, "
        f"GETs {_met(p['get_ratio_to_sdk'] <= r['goal_get_ratio'])}).",
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


def _first_hour_section(r: dict[str, Any]) -> list[str]:
    f, route = r["first_video"], r["route"]
    share = r["goal_limit_share"]
    lines = [
        "## 7. The first hour: the first video, and vidgate beside the naive route",
        "",
        f"Goal (first video stored within the task time + {r['goal_first_video_extra_s']} s, "
        f"with progress seen between 0 and 1; beside the naive route at >= {share:.0%} of the "
        f"limit, cold and warm): {_met(r.get('all_met'))}. `bench/first_hour.py`; task GETs are "
        "section 4's.",
        "",
        f"First video: a fresh `vidgate serve` (emulator mode, {f['task_seconds']:g} s tasks), "
        f"one 5 s gen4.5 job: stored **{f['stored_seconds']:.2f} s** after it was created "
        f"(goal <= {f['task_seconds'] + r['goal_first_video_extra_s']:g} s), progress between "
        f"0 and 1 seen: {'yes' if f['progress_between'] else 'no'} "
        f"({_met(f['meets_goal'])}).",
        "",
        f"{route['jobs']} concurrent requests, {route['task_seconds']:g} s tasks (pending + "
        "running), sent at once to the FastAPI route that wraps the sync SDK's "
        "`create().wait_for_task_output()` (`bench/seed_route.py`) and, at the same time, to "
        "`vidgate serve` on an empty data directory (cold), then again to the same server "
        f"(warm). The route took {route['route_wall_seconds']:.1f} s, so the limit (its wall "
        f"time over one task's) is {route['limit']:.2f}x.",
        "",
        "| vidgate | wall s (8 created -> 8 stored) | route / vidgate | share of the limit "
        "| progress between 0 and 1 | goal |",
        "|---|---:|---:|---:|:---:|:---:|",
    ]
    for name in ("cold", "warm"):
        c = route[name]
        lines.append(
            f"| {name} | {c['wall_seconds']:.2f} | {c['ratio']:.2f}x | "
            f"{c['share_of_limit']:.0%} | {'yes' if c['progress_between'] else 'no'} "
            f"| {_met(c['meets_goal'])} |"
        )
    return lines


def _inflight_section(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## 5. {r['goal_jobs']:,} jobs in flight in one worker process, peak RSS <= "
        f"{r['goal_rss_mib']} MB",
        "",
    ]
    cases = [(name, r[name]) for name in ("sqlite", "postgresql") if name in r]
    verdicts = [
        f"{name}: {_met(c.get('met'))}" if "peak_rss_mib" in c else f"{name}: {c['skipped']}"
        for name, c in cases
    ]
    if "postgresql" not in r:
        verdicts.append("postgresql: not run (`make bench BENCH_ARGS=--postgresql` adds it)")
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


def _scale_section(r: dict[str, Any]) -> list[str]:
    statuses = ", ".join(f"{v:,} {k}" for k, v in r["statuses"].items())
    codes = ", ".join(f"{v} {k}" for k, v in r["failure_codes"].items()) or "none"
    no_double = r["duplicate_tasks"] == 0 and r["jobs_with_two_tasks"] == 0
    within = r["max_takeover_seconds"] <= r["recovery_bound_seconds"]
    return [
        f"## 6. Scale-out: {r['apis']} API and {r['workers']} worker processes on PostgreSQL, "
        "workers killed with kill -9",
        "",
        f"Measured {r.get('measured_at', '?')} (`make bench-scale`). Goal: every job done "
        f"with exactly one upstream task ({_met(no_double)}), a dead worker's jobs taken over "
        f"within the stated bound of {r['recovery_bound_seconds']:.1f} s ({_met(within)}).",
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


def report(info: dict[str, Any], results: dict[str, Any], seconds: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`); do not edit by hand. Each goal comes "
        'from the issue tracker; "met"/"not met" is decided by the figures of this run.',
        "",
        f"Machine: {info['cpus_usable']} CPUs (`nproc`), {info['memory_gib']} GiB memory, "
        f"Python {info['python']}, {info['platform']}; load average at start "
        f"{', '.join(str(x) for x in info['load_average'])}. Date: {info['date']}. "
        f"The whole run took {seconds / 60:.1f} minutes.",
        "",
        "The machine is shared and noisy: compare the figures within one run (every comparison "
        "below was measured side by side or alternating in this run), not across runs.",
        "",
    ]
    earlier = sorted(
        {f"{n} ({r['measured_at']})" for n, r in results.items() if r.get("measured_at")}
        - {f"{n} ({info['date']})" for n in results}
    )
    if earlier:
        lines += [f"Sections kept from an earlier run: {', '.join(earlier)}.", ""]
    sections: dict[str, Callable[[dict[str, Any]], list[str]]] = {
        "render": _render_section,
        "api": _api_section,
        "download": _download_section,
        "lag": _lag_section,
        "inflight": _inflight_section,
        "scale": _scale_section,
        "firsthour": _first_hour_section,
    }
    for name, section in sections.items():
        if name not in results:
            continue
        result = results[name]
        if "error" in result:
            lines += [f"## {name}", "", f"**Failed to run**: `{result['error']}`", ""]
            continue
        lines += [*section(result), ""]
    notes = _findings(results)
    if notes:
        lines += ["## Findings", "", *notes, ""]
    lines += [
        "<details><summary>Raw figures (JSON)</summary>",
        "",
        "```json",
        json.dumps(results, indent=1, default=str),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def _findings(results: dict[str, Any]) -> list[str]:
    from bench.findings import findings

    return findings(results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--only", default=",".join(DEFAULT_NAMES))
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--lag-tasks", type=int, default=200)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args(argv)
    chosen = [n for n in args.only.split(",") if n]
    unknown = set(chosen) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    from bench import api_throughput, download, first_hour, inflight, lag, render_bench, scale_out

    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "render": render_bench.run,
        "api": api_throughput.run,
        "download": download.run,
        "lag": lambda: lag.run(args.lag_tasks),
        "inflight": lambda: inflight.run(args.jobs, postgresql=args.postgresql),
        "firsthour": first_hour.run,
        "scale": scale_out.run,
    }
    info = machine()
    start = time.perf_counter()
    results: dict[str, Any] = {}
    for name in NAMES:
        if name not in chosen:
            continue
        began = time.perf_counter()
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = runners[name]()
        except Exception as exc:
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        results[name]["benchmark_seconds"] = round(time.perf_counter() - began, 1)
        results[name]["measured_at"] = info["date"]
        print(f"-- {name} took {results[name]['benchmark_seconds']} s", file=sys.stderr)
    seconds = time.perf_counter() - start
    # Sections not measured in this run (a subset, or `scale` in a plain `make bench`) stay as
    # they were last measured.
    kept = _written_results()
    results = {n: results.get(n, kept.get(n)) for n in NAMES if n in results or n in kept}
    text = report(info, results, seconds)
    print(text)
    DOCS.write_text(text)
    print(f"wrote {DOCS.relative_to(ROOT)}", file=sys.stderr)


def _written_results() -> dict[str, Any]:
    """The raw figures of the report already written (its JSON block)."""
    if not DOCS.exists():
        return {}
    text = DOCS.read_text()
    start = text.find("```json\n")
    end = text.find("\n```", start + 8)
    if start < 0 or end < 0:
        return {}
    figures: dict[str, Any] = json.loads(text[start + 8 : end])
    return figures


if __name__ == "__main__":
    main()
