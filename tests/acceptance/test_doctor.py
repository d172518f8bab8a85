"""``vidgate doctor`` as an operator runs it: emulator mode, a key Runway accepts, a key it
refuses, a migrated PostgreSQL. Runway is the emulator on 127.0.0.1 accepting one key only."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import VIDGATE, vidgate_env

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.content_credentials import make_test_identity
from vidgate.emulator.server import EmulatorServer

ACCEPTED_KEY = "key_" + "a" * 128
WRONG_KEY = "key_" + "b" * 128
CHECKS = ["runway key", "database", "storage", "codecs", "c2pa", "disk", "clock"]


@pytest.fixture(scope="module")
def strict_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(api_key=ACCEPTED_KEY)) as server:
        yield server


def doctor(env: dict[str, str], *args: str) -> tuple[int, Any]:
    done = subprocess.run(
        [VIDGATE, "doctor", "--json", *args], env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, json.loads(done.stdout)


def by_name(report: Any) -> dict[str, dict[str, Any]]:
    assert [check["name"] for check in report["checks"]] == CHECKS
    return {check["name"]: check for check in report["checks"]}


def test_emulator_mode_passes_and_names_each_check(tmp_path: Path) -> None:
    code, report = doctor(vidgate_env(tmp_path / "data"))
    assert code == 0, report
    assert report["ok"] is True
    checks = by_name(report)
    assert "emulator mode" in checks["runway key"]["detail"]
    assert checks["storage"]["status"] == "ok"
    assert checks["codecs"]["status"] == "ok"
    # A new data directory is never migrated: worth a warning, not a block.
    assert checks["database"]["status"] == "warn"
    assert "vidgate migrate" in checks["database"]["fix"]
    # The trust lists: the shipped ones with their date and size.
    assert checks["c2pa"]["status"] == "ok"
    assert (
        "trusts C2PA trust list of 2026-08-05 (30), C2PA TSA trust list of 2026-08-05 (22);"
        in checks["c2pa"]["detail"]
    )


def test_the_operators_trust_anchors_load_or_fail_with_the_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # The emulator's root, before any emulator wrote it: vidgate serve reads it after.
    root = data / "emulator" / "c2pa-root.pem"
    code, report = doctor(vidgate_env(data, VIDGATE_C2PA_TRUST_ANCHORS=str(root)))
    c2pa = by_name(report)["c2pa"]
    assert code == 0 and c2pa["status"] == "ok", c2pa
    assert "VIDGATE_C2PA_TRUST_ANCHORS (the emulator's root, once it has started)" in c2pa["detail"]
    # A file of two anchors: loaded and counted.
    _, first = make_test_identity()
    _, second = make_test_identity()
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(first + second)
    code, report = doctor(vidgate_env(data, VIDGATE_C2PA_TRUST_ANCHORS=str(anchors)))
    c2pa = by_name(report)["c2pa"]
    assert code == 0 and "VIDGATE_C2PA_TRUST_ANCHORS (2)" in c2pa["detail"], c2pa
    # A file that is no PEM bundle blocks serving, and the fix says what to do.
    anchors.write_text("a private key, by mistake\n")
    code, report = doctor(vidgate_env(data, VIDGATE_C2PA_ALLOWED_SIGNERS=str(anchors)))
    c2pa = by_name(report)["c2pa"]
    assert code == 1 and c2pa["status"] == "fail", c2pa
    assert f"VIDGATE_C2PA_ALLOWED_SIGNERS: {anchors} is not a PEM file" in c2pa["detail"]
    assert "readable PEM file of certificates" in c2pa["fix"]


def test_an_accepted_key_shows_the_organization_and_the_clock(
    tmp_path: Path, strict_emulator: EmulatorServer
) -> None:
    env = vidgate_env(
        tmp_path, RUNWAYML_API_SECRET=ACCEPTED_KEY, RUNWAYML_BASE_URL=strict_emulator.base_url
    )
    subprocess.run([VIDGATE, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    code, report = doctor(env)
    assert code == 0, report
    checks = by_name(report)
    assert checks["runway key"]["status"] == "ok", checks["runway key"]
    assert "credit balance" in checks["runway key"]["detail"]
    assert checks["database"]["status"] == "ok", checks["database"]
    assert "from the provider's Date header" in checks["clock"]["detail"]


def test_a_refused_key_fails_and_names_the_fix(
    tmp_path: Path, strict_emulator: EmulatorServer
) -> None:
    env = vidgate_env(
        tmp_path, RUNWAYML_API_SECRET=WRONG_KEY, RUNWAYML_BASE_URL=strict_emulator.base_url
    )
    code, report = doctor(env)
    assert code == 1, report
    assert report["ok"] is False
    key = by_name(report)["runway key"]
    assert key["status"] == "fail"
    assert "RUNWAYML_API_SECRET" in key["fix"]
    # The human form says the same, with the fix.
    done = subprocess.run([VIDGATE, "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "RUNWAYML_API_SECRET" in done.stdout


def test_an_unreachable_database_fails(tmp_path: Path) -> None:
    # A port on loopback where nothing listens (a closed port answers at once: no wait).
    env = vidgate_env(tmp_path, VIDGATE_DATABASE_URL="postgresql://vidgate@127.0.0.1:9/vidgate")
    code, report = doctor(env)
    assert code == 1, report
    database = by_name(report)["database"]
    assert database["status"] == "fail"
    assert "VIDGATE_DATABASE_URL" in database["fix"]
    assert "vidgate@" not in database["detail"]  # the user (and any password) is not echoed


@pytest.mark.postgres
def test_a_migrated_postgresql_passes_with_its_clock(tmp_path: Path, postgres_url: str) -> None:
    code, report = doctor(vidgate_env(tmp_path, VIDGATE_DATABASE_URL=postgres_url))
    assert code == 0, report
    checks = by_name(report)
    assert checks["database"]["status"] == "ok"
    assert "PostgreSQL" in checks["database"]["detail"]
    assert "PostgreSQL's now()" in checks["clock"]["detail"]
