"""Run every benchmark, print a markdown report and write it to ``docs/benchmarks.md``.

``make bench`` runs ``python -m bench.run``: every benchmark, one after another, in one run.
Options: ``--only render,api,download,lag,inflight,firsthour,scale`` (a subset: its sections
replace the same sections of the report already written; the others keep their figures, and
are marked stale if the code they measure has changed since, :mod:`bench.freshness`; ``--only
none`` measures nothing and only marks), ``--jobs N`` (in-flight jobs, default 10,000),
``--lag-tasks N`` (default 200), ``--no-postgresql`` (leave out the in-flight case on the local
PostgreSQL, in a scratch database ``vidgate_bench`` dropped afterwards; the scale-out needs
PostgreSQL too).

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
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import ROOT, machine
from bench.freshness import Freshness, freshness, measured_now, stale_mark
from bench.sections import first_hour_section, inflight_section, lag_section, scale_section
from bench.sections import met as _met

__all__ = ["main", "report"]

DOCS = ROOT / "docs" / "benchmarks.md"
NAMES = ("render", "api", "download", "lag", "inflight", "firsthour", "scale")


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


_TITLES = {
    "render": "render",
    "api": "API",
    "download": "download",
    "lag": "lag",
    "inflight": "in flight",
    "firsthour": "first hour",
    "scale": "scale-out",
}


def report(
    info: dict[str, Any],
    results: dict[str, Any],
    seconds: float,
    *,
    fresh: Callable[[str, dict[str, Any]], Freshness] = freshness,
    ran: Sequence[str] | None = None,
) -> str:
    """The markdown report of ``results`` (``ran``: the benchmarks this run measured, default
    all of them; ``fresh`` says whether a benchmark's figures still describe the code)."""
    ran = list(results) if ran is None else list(ran)
    states = {n: fresh(n, r) for n, r in results.items() if "error" not in r}
    stale = [n for n, state in states.items() if state.stale]
    durations = {n: r["benchmark_seconds"] for n, r in results.items() if "benchmark_seconds" in r}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`); do not edit by hand. Each goal comes "
        'from the issue tracker; "met"/"not met" is decided by the figures of the run that '
        "measured them.",
        "",
        f"`make bench` runs every section below in one run: about "
        f"{_duration(sum(durations.values()))} on this machine (the sections' last "
        f"durations: {', '.join(f'{_TITLES[n]} {_duration(durations[n])}' for n in durations)}"
        "); the scale-out and the in-flight PostgreSQL case need the local PostgreSQL. "
        "`--only NAME,...` re-runs some sections and keeps the others' figures; `--only none` runs "
        "nothing and only marks what has gone stale.",
        "",
        f"Machine: {info['cpus_usable']} CPUs (`nproc`), {info['memory_gib']} GiB memory, "
        f"Python {info['python']}, {info['platform']}. "
        + (
            f"Last written {info['date']}, measuring {', '.join(_TITLES[n] for n in ran)} "
            f"({seconds / 60:.1f} minutes; load average at the start "
            f"{', '.join(str(x) for x in info['load_average'])})."
            if ran
            else f"Last written {info['date']}, measuring nothing (staleness marks only)."
        ),
        "",
        "The machine is shared and noisy: compare the figures within one section, not across "
        "sections. Every ratio is quoted with its partner measured in the same run (side by "
        "side, or alternating). Each section says when and on which commit it was measured; one "
        "whose code has changed since is marked **stale** (`bench/freshness.py`).",
        "",
    ]
    if stale:
        lines += [
            f"**Stale sections**: {', '.join(_TITLES[n] for n in stale)}: their figures describe "
            "older code.",
            "",
        ]
    sections: dict[str, Callable[[dict[str, Any]], list[str]]] = {
        "render": _render_section,
        "api": _api_section,
        "download": _download_section,
        "lag": lag_section,
        "inflight": inflight_section,
        "scale": scale_section,
        "firsthour": first_hour_section,
    }
    notes: list[str] = []
    for name, section in sections.items():
        if name not in results:
            continue
        result = results[name]
        if "error" in result:
            lines += [f"## {name}", "", f"**Failed to run**: `{result['error']}`", ""]
            continue
        head, *body = section(result)
        mark = stale_mark(name, states[name], result.get("measured_at"))
        lines += [head, "", mark, *body, ""]
        flag = f"(**stale**, {_TITLES[name]}) " if states[name].stale else ""
        notes += [f"- {flag}{note.removeprefix('- ')}" for note in _findings({name: result})]
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


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _findings(results: dict[str, Any]) -> list[str]:
    from bench.findings import findings

    return findings(results)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--only", default=",".join(NAMES))
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--lag-tasks", type=int, default=200)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args(argv)
    chosen = [n for n in args.only.split(",") if n and n != "none"]
    unknown = set(chosen) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    from bench import api_throughput, download, first_hour, inflight, lag, render_bench, scale_out

    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "render": render_bench.run,
        "api": api_throughput.run,
        "download": download.run,
        "lag": lambda: lag.run(args.lag_tasks),
        "inflight": lambda: inflight.run(args.jobs, postgresql=not args.no_postgresql),
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
        measured = measured_now(name)  # the code as it is when the run starts
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = runners[name]()
        except Exception as exc:
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        results[name]["benchmark_seconds"] = round(time.perf_counter() - began, 1)
        results[name]["measured_at"] = info["date"]
        results[name].update(measured)
        print(f"-- {name} took {results[name]['benchmark_seconds']} s", file=sys.stderr)
    seconds = time.perf_counter() - start
    # Sections not measured in this run keep their figures, marked stale if their code changed.
    kept = _written_results()
    ran = list(results)
    results = {n: results.get(n, kept.get(n)) for n in NAMES if n in results or n in kept}
    text = report(info, results, seconds, ran=ran)
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
