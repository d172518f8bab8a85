"""docs/benchmarks.md tells its age: each section names the commit it measured, and a section
whose code changed since is marked stale (bench/freshness.py, bench/run.py). The git cases run
in a scratch repository."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from bench.freshness import Freshness, freshness, measured_now, stale_mark
from bench.run import report

MACHINE = {
    "cpus_usable": 2,
    "memory_gib": 4.0,
    "python": "3.11",
    "platform": "Linux",
    "load_average": [0.1, 0.1, 0.1],
    "date": "2026-12-08 10:00 UTC",
}


def _git(root: Path, *args: str) -> str:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _commit(root: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    _commit(
        tmp_path,
        {
            "src/vidgate/emulator/render.py": "frames = 120\n",
            "bench/render_bench.py": "CASES = ()\n",
            "src/vidgate/api/app.py": "app = 1\n",
            "uv.lock": "locked\n",
            "README.md": "vidgate\n",
        },
        "start",
    )
    return tmp_path


def test_untouched_code_is_fresh_and_other_paths_do_not_count(repo: Path) -> None:
    figures = measured_now("render", root=repo)
    assert figures["commit"] == _git(repo, "rev-parse", "HEAD") and not figures["dirty"]
    assert freshness("render", figures, root=repo) == Freshness(figures["commit"], stale=False)
    _commit(repo, {"src/vidgate/api/app.py": "app = 2\n", "README.md": "more\n"}, "api only")
    assert not freshness("render", figures, root=repo).stale


def test_a_commit_that_changes_what_a_section_measures_makes_it_stale(repo: Path) -> None:
    figures = measured_now("render", root=repo)
    changed = _commit(repo, {"src/vidgate/emulator/render.py": "frames = 96\n"}, "fewer frames")
    state = freshness("render", figures, root=repo)
    assert state.stale and state.changes == (changed[:7],)
    # Changed back: the code is what was measured again (the commits are still listed).
    _commit(repo, {"src/vidgate/emulator/render.py": "frames = 120\n"}, "back")
    assert not freshness("render", figures, root=repo).stale
    # A dependency moved: every section is stale.
    _commit(repo, {"uv.lock": "locked again\n"}, "lock")
    assert freshness("render", figures, root=repo).stale


def test_an_uncommitted_change_is_stale_until_committed_as_it_was_measured(repo: Path) -> None:
    measured = measured_now("render", root=repo)
    (repo / "src/vidgate/emulator/render.py").write_text("frames = 48\n")
    assert freshness("render", measured, root=repo).stale  # the tree differs from the figures
    # Measured on the uncommitted change, which is then committed as it was: still fresh.
    dirty = measured_now("render", root=repo)
    assert dirty["dirty"] and dirty["commit"] == measured["commit"]
    _commit(repo, {}, "the change the benchmark ran on")
    state = freshness("render", dirty, root=repo)
    assert not state.stale and state.dirty


def test_figures_from_before_commits_were_recorded_get_the_commit_that_wrote_them(
    repo: Path,
) -> None:
    old = {"measured_at": "2026-11-21 04:58 UTC"}
    assert freshness("render", old, root=repo) == Freshness(None, stale=True)
    wrote = _commit(
        repo, {"docs/benchmarks.md": '"measured_at": "2026-11-21 04:58 UTC"\n'}, "figures"
    )
    assert freshness("render", old, root=repo) == Freshness(wrote, stale=False)
    _commit(repo, {"bench/render_bench.py": "CASES = ('t2v',)\n"}, "a new case")
    assert freshness("render", old, root=repo).stale


def test_the_mark_names_the_commit_and_what_changed() -> None:
    fresh = Freshness("0123456789abcdef", stale=False)
    assert stale_mark("render", fresh, "2026-12-08 10:00 UTC") == (
        "Measured 2026-12-08 10:00 UTC on `0123456`."
    )
    stale = Freshness("0123456789abcdef", stale=True, changes=("aaaaaaa", "bbbbbbb"), dirty=True)
    mark = stale_mark("lag", stale, "2026-12-08 10:00 UTC")
    assert mark.startswith("**Stale**: measured 2026-12-08 10:00 UTC on `0123456` plus ")
    assert "2 commits since touched it (latest `aaaaaaa`, `bbbbbbb`)" in mark
    assert mark.endswith("`python -m bench.run --only lag`.")
    assert "unrecorded commit" in stale_mark("lag", Freshness(None, stale=True), None)


def _render_figures() -> dict[str, Any]:
    case = {
        "frames": 120,
        "cpu_seconds": 0.4,
        "process_cpu_seconds": 0.6,
        "wall_seconds": 0.4,
        "peak_rss_mib": 130.0,
        "output_bytes": 600_000,
        "meets_cpu_goal": True,
    }
    return {
        "text_to_video": case,
        "image_to_video": case,
        "all_meet_cpu_goal": True,
        "benchmark_seconds": 1.5,
        "measured_at": "2026-12-01 09:00 UTC",
        "commit": "0123456789abcdef",
    }


def test_the_report_marks_a_stale_section_under_its_heading_and_at_the_top() -> None:
    def stale(name: str, figures: dict[str, Any]) -> Freshness:
        return Freshness(figures["commit"], stale=True, changes=("ccccccc",))

    text = report(MACHINE, {"render": _render_figures()}, 0.0, fresh=stale, ran=[])
    lines = text.splitlines()
    heading = lines.index("## 1. Render: a 5 s 1280:720 output in at most 1 s of CPU")
    assert lines[heading + 2].startswith("**Stale**: measured 2026-12-01 09:00 UTC on `0123456`")
    assert "**Stale sections**: render" in text
    assert "measuring nothing" in text

    def fresh(name: str, figures: dict[str, Any]) -> Freshness:
        return Freshness(figures["commit"], stale=False)

    text = report(MACHINE, {"render": _render_figures()}, 90.0, fresh=fresh)
    assert "Stale" not in text
    assert "Measured 2026-12-01 09:00 UTC on `0123456`." in text
    assert "about 2 s on this machine (the sections' last durations: render 2 s)" in text
