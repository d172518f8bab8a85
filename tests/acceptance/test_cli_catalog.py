"""``vidgate models``, ``vidgate estimate`` and ``vidgate recommend`` through the real console
script, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidgate.catalog import get_catalog

VIDGATE = Path(sys.executable).with_name("vidgate")


def vidgate(*args: str, columns: int = 240) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIDGATE_", "RUNWAYML_"))
    }
    # A plain terminal (wide unless a test asks) so Rich neither wraps nor colours the text.
    env.update({"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"})
    return subprocess.run(
        [str(VIDGATE), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_the_console_script_is_installed() -> None:
    assert VIDGATE.is_file(), f"no console script at {VIDGATE}"


def test_estimate_gen45_for_five_seconds() -> None:
    result = vidgate("estimate", "--model", "gen4.5", "--duration", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "60 credits\n"


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (["-m", "veo3.1", "-d", "8"], "160-320 credits"),
        (["-m", "gen4.5"], "60 credits"),  # no duration: generate's default, 5 s
        (["-m", "gen4.5", "-d", "30"], "360 credits"),  # longer than 10 s: a chain of three
        (["-m", "gen4_turbo"], "50 credits"),  # no default length: billed at the longest
        (["-m", "aleph2"], "unknown"),
        (["-m", "seedance2", "-d", "12", "-e", "video_to_video"], "432 credits"),
    ],
)
def test_estimate(args: list[str], printed: str) -> None:
    result = vidgate("estimate", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == printed


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-m", "gen5", "-d", "5"], "unknown model 'gen5'"),
        (["-m", "gen4_turbo", "-e", "text_to_video"], "gen4_turbo is not offered on text_to_video"),
        (["-m", "veo3.1", "-d", "5"], "duration: veo3.1 accepts 4, 6 or 8, got 5"),
        (["-m", "aleph2", "-d", "5"], "duration: unknown field for aleph2 on video_to_video"),
        (["-m", "gen4.5", "-d", "3.5"], "must be a whole number of seconds (gen4.5 accepts 2 to"),
    ],
)
def test_estimate_refuses_what_generate_refuses(args: list[str], words: str) -> None:
    result = vidgate("estimate", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error:" in result.stderr and words in result.stderr


@pytest.mark.parametrize("seconds", ["0", "-3", "nan"])
def test_a_duration_that_is_not_positive_is_named_plainly(seconds: str) -> None:
    result = vidgate("estimate", "-m", "gen4.5", "-d", seconds)
    assert result.returncode == 2
    assert "must be a positive number of seconds" in result.stderr
    assert "greater than" not in result.stderr


def test_estimate_and_recommend_print_json() -> None:
    result = vidgate("estimate", "-m", "veo3.1", "-d", "8", "--json")
    assert json.loads(result.stdout) == {
        "model": "veo3.1",
        "durationSeconds": 8.0,
        "low": 160.0,
        "high": 320.0,
        "known": True,
        "description": "160-320 credits",
    }
    rec = json.loads(vidgate("recommend", "-p", "length", "-d", "60", "--json").stdout)
    assert rec["model"] == "seedance2" and rec["estimate"]["durationSeconds"] == 60


def test_models_lists_every_model_in_a_table() -> None:
    result = vidgate("models")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for header in ("model", "endpoints", "credits/s", "speed", "best for"):
        assert header in out
    for model in get_catalog().models():
        assert model.id in out
    assert "veo3 (legacy)" in out and "gen4_aleph (legacy)" in out
    row = next(line for line in out.splitlines() if " veo3.1_fast " in line)
    assert "10-15" in row and "fast" in row
    row = next(line for line in out.splitlines() if " aleph2 " in line)
    assert "unknown" in row


def test_models_can_leave_out_legacy_models() -> None:
    out = vidgate("models", "--no-legacy").stdout
    assert "(legacy)" not in out and "│ gen4_aleph " not in out and "│ veo3 " not in out
    assert "│ veo3.1 " in out


def test_models_shows_one_model_in_detail() -> None:
    result = vidgate("models", "gen4.5")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "gen4.5 — Gen-4.5 (Runway)" in out
    assert "cost: 12 credits per second" in out
    assert "gen4.5 on /v1/text_to_video" in out and "gen4.5 on /v1/image_to_video" in out
    row = next(line for line in out.splitlines() if " promptText " in line)
    assert "yes" in row and "at most 1000 characters" in row
    row = next(line for line in out.splitlines() if " duration " in line)
    assert "2-10 s" in row
    assert "1584:672" in out
    assert "rules: prores_profile_needs_prores" in out


def test_models_detail_of_a_legacy_model_says_what_to_send() -> None:
    out = vidgate("models", "gen4_aleph").stdout
    assert "legacy:" in out and "aleph2" in out
    assert "not accepted: promptVideo (send videoUri)" in out
    assert "not accepted: duration (no such field)" in out


def test_models_detail_shows_media_limits() -> None:
    out = vidgate("models", "seedance2").stdout
    assert "video URI; at most 15 s; at most 32 MB; at least 720p" in out
    assert "not accepted: references (send promptImage)" in out
    out = vidgate("models", "act_two").stdout
    assert "{type: image|video, uri}" in out and "each 3-30 s" in out


def test_models_of_an_unknown_model_exits_2() -> None:
    result = vidgate("models", "gen5")
    assert result.returncode == 2
    assert "unknown model 'gen5'" in result.stderr and result.stdout == ""


def test_models_at_80_columns_never_cut_a_model_name() -> None:
    result = vidgate("models", columns=80)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    names = {line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line}
    for model in get_catalog().models():
        assert model.id in names or f"{model.id} (legacy)" in names
    assert "…" not in result.stdout
    assert "left out best for" in result.stderr


def test_models_json_lists_every_model_and_shows_one() -> None:
    listed = json.loads(vidgate("models", "--json").stdout)
    assert [m["id"] for m in listed] == [m.id for m in get_catalog().models()]
    one = json.loads(vidgate("models", "gen4.5", "--json").stdout)
    assert one["id"] == "gen4.5" and "text_to_video" in one["endpoints"]


@pytest.mark.parametrize(
    ("args", "first_line", "estimate"),
    [
        ([], "gen4.5 on text_to_video: gen4.5 is the best balance", "60 credits for 5 s"),
        # Priced as generate would send it: no length asked where the model needs none, so the
        # model's default (or, with none, the longest, as Runway bills it up front).
        (["-u", "image", "-p", "cost", "--image"], "gen4_turbo on image_to_video", "50 credits"),
        (["-p", "speed"], "veo3.1_fast on text_to_video", "80-120 credits for 8 s"),
        (["-p", "quality", "--legacy"], "veo3 on text_to_video", "320 credits for 8 s"),
        (["-u", "video"], "aleph2 on video_to_video", "unknown (length follows the input)"),
        (["-u", "product_ad"], "seedance2 on text_to_video", "540 credits for 15 s"),
        (["-d", "12"], "seedance2 on text_to_video", "432 credits for 12 s"),
        (["-p", "length", "-d", "60"], "seedance2 on text_to_video", "2160 credits for 60 s"),
        (["-u", "character"], "act_two on character_performance", "unknown"),
    ],
)
def test_recommend(args: list[str], first_line: str, estimate: str) -> None:
    result = vidgate("recommend", *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(first_line)
    assert lines[1].startswith(f"estimate: {estimate}")


def test_recommend_refuses_an_unknown_use_case() -> None:
    result = vidgate("recommend", "-u", "opera")
    assert result.returncode == 2
    assert "opera" in result.stderr
