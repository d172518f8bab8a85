"""How old each section of docs/benchmarks.md is, and whether what it measured has changed since.

Each benchmark's figures carry the commit they were measured on (``commit``; ``dirty`` when the
working tree had changes then) and a fingerprint of the files the benchmark measures
(:data:`MEASURES`) as they were. A section not re-run by this run is **stale** when those files
differ now: the mark names the commit it measured and the commits since that touched them
(``git log <commit>..HEAD -- <paths>``). The fingerprint is of the files' content, so a
benchmark run on uncommitted changes that were then committed as they were is not stale, and a
change undone is not one. Figures from before commits were recorded get the commit that first
wrote them into docs/benchmarks.md, and are compared with it.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT

__all__ = ["MEASURES", "Freshness", "freshness", "measured_now", "stale_mark"]

# What each benchmark's figures depend on, besides itself and the locked dependencies.
_SERVICE = ("src/vidgate",)  # `vidgate serve` end to end
_PIPELINE = (
    "src/vidgate/pipeline",
    "src/vidgate/jobs",
    "src/vidgate/provider",
    "src/vidgate/media",
    "src/vidgate/storage",
    "src/vidgate/db",
    "src/vidgate/emulator",
    "src/vidgate/runtime.py",
    "src/vidgate/settings.py",
)
# The report's wording (bench/run.py, bench/sections.py, bench/findings.py) is not measured.
_COMMON = ("bench/common.py", "bench/emulator_proc.py", "uv.lock")
MEASURES: dict[str, tuple[str, ...]] = {
    "render": ("src/vidgate/emulator", "bench/render_bench.py"),
    "api": (
        "src/vidgate/api",
        "src/vidgate/intake",
        "src/vidgate/jobs",
        "src/vidgate/requests",
        "src/vidgate/tenancy",
        "src/vidgate/db",
        "src/vidgate/catalog",
        "src/vidgate/cli",
        "src/vidgate/runtime.py",
        "src/vidgate/settings.py",
        "src/vidgate/errors.py",
        "bench/api_throughput.py",
        "bench/api_load.lua",
    ),
    "download": (
        "src/vidgate/provider/output_reader.py",
        "src/vidgate/storage",
        "bench/download.py",
    ),
    "lag": (*_PIPELINE, "bench/lag.py"),
    "inflight": (*_PIPELINE, "bench/inflight.py"),
    "firsthour": (*_SERVICE, "bench/first_hour.py", "bench/seed_route.py", "bench/scale_out.py"),
    "scale": (*_SERVICE, "bench/scale_out.py"),
}


def _paths(name: str) -> tuple[str, ...]:
    return (*MEASURES[name], *_COMMON)


def _git(*args: str, stdin: str | None = None, root: Path = ROOT) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def _fingerprint(paths: Sequence[str], root: Path) -> str:
    """A digest of the content of every file under ``paths`` in the working tree (tracked or
    new, ignored files left out)."""
    listed = _git("ls-files", "--cached", "--others", "--exclude-standard", "--", *paths, root=root)
    files = sorted({f for f in listed.splitlines() if (root / f).is_file()})
    blobs = _git("hash-object", "--stdin-paths", stdin="\n".join(files), root=root).split()
    digest = hashlib.sha256()
    for name, blob in zip(files, blobs, strict=True):
        digest.update(f"{name} {blob}\n".encode())
    return digest.hexdigest()


def measured_now(name: str, *, root: Path = ROOT) -> dict[str, Any]:
    """What a benchmark's figures record of the code they measured: the commit, whether the
    working tree had uncommitted changes, and the fingerprint of the files it measures."""
    paths = _paths(name)
    return {
        "commit": _git("rev-parse", "HEAD", root=root).strip(),
        "dirty": bool(_git("status", "--porcelain", "--", *paths, root=root).strip()),
        "fingerprint": _fingerprint(paths, root),
    }


@dataclass(frozen=True)
class Freshness:
    """Where a section's figures stand: measured on ``commit``; ``changes``: the commits since
    that touched what it measures; ``stale``: what it measures differs now."""

    commit: str | None
    stale: bool
    changes: tuple[str, ...] = ()
    dirty: bool = False


def freshness(name: str, figures: dict[str, Any], *, root: Path = ROOT) -> Freshness:
    """Whether the figures of benchmark ``name`` still describe the code in the working tree."""
    paths = _paths(name)
    commit = figures.get("commit") or _first_written(figures.get("measured_at"), root)
    if commit is None:
        return Freshness(commit=None, stale=True)
    try:
        changes = tuple(
            _git("log", "--format=%h", f"{commit}..HEAD", "--", *paths, root=root).splitlines()
        )
        if figures.get("fingerprint"):
            stale = figures["fingerprint"] != _fingerprint(paths, root)
        else:
            stale = bool(_git("diff", "--name-only", commit, "--", *paths, root=root).strip())
    except subprocess.CalledProcessError:  # a commit this clone does not have
        return Freshness(commit=commit, stale=True)
    return Freshness(commit=commit, stale=stale, changes=changes, dirty=bool(figures.get("dirty")))


def _first_written(measured_at: str | None, root: Path) -> str | None:
    """The commit that first wrote figures measured at ``measured_at`` into the report."""
    if not measured_at:
        return None
    needle = f'"measured_at": "{measured_at}"'
    found = _git(
        "log", "--reverse", "--format=%H", "-S", needle, "--", "docs/benchmarks.md", root=root
    ).split()
    return found[0] if found else None


def stale_mark(name: str, state: Freshness, measured_at: str | None) -> str:
    """The line under a section's heading: when and on what it was measured, and, if what it
    measures has changed since, that it is stale."""
    when = measured_at or "an unrecorded date"
    if state.commit is None:
        return (
            f"**Stale**: measured {when} on an unrecorded commit; re-run it: "
            f"`python -m bench.run --only {name}`."
        )
    short = state.commit[:7]
    on = f"`{short}`" + (" plus uncommitted changes" if state.dirty else "")
    if not state.stale:
        return f"Measured {when} on {on}."
    if state.changes:
        latest = ", ".join(f"`{c}`" for c in state.changes[:3])
        count = len(state.changes)
        since = f"{count} commit{'s' if count > 1 else ''} since touched it (latest {latest})"
    else:
        since = "it differs in the working tree"
    return (
        f"**Stale**: measured {when} on {on}, and what it measures has changed: {since}; "
        f"`bench/freshness.py` lists what it measures. Re-run it: "
        f"`python -m bench.run --only {name}`."
    )
