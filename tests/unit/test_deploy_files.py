"""The deployment files an operator copies: compose.yaml, the systemd units, the Containerfile.

`make image-test` builds and runs the image itself (a few minutes); these check the files' shape.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def test_compose_runs_the_api_a_worker_and_postgresql_each_with_a_healthcheck() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "worker", "db"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
    assert services["api"]["command"][0] == "serve"
    assert services["worker"]["command"][0] == "worker"
    assert services["api"]["volumes"] == services["worker"]["volumes"] == ["data:/data"]
    assert set(compose["volumes"]) == {"data", "db"}


def test_compose_requires_its_secrets() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for variable in ("RUNWAYML_API_SECRET", "POSTGRES_PASSWORD"):
        assert re.search(r"\$\{" + variable + r":\?", text), f"{variable} is not required"


def test_the_units_are_sandboxed() -> None:
    assert {unit.name for unit in UNITS} == {"vidgate-api@.service", "vidgate-worker@.service"}
    for unit in UNITS:
        text = unit.read_text()
        for line in (
            "User=vidgate",
            "ProtectSystem=strict",
            "NoNewPrivileges=true",
            "StateDirectory=vidgate",
            "UMask=0077",
        ):
            assert line in text.splitlines(), f"{unit.name}: no {line}"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_the_units_pass_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze (Debian's systemd) is needed"
    # Verify checks that ExecStart exists: point it at this checkout's vidgate.
    vidgate = Path(sys.executable).with_name("vidgate")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace("/opt/vidgate/bin/vidgate", str(vidgate)))
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_containerfile_runs_vidgate_as_a_user_with_a_healthcheck() -> None:
    text = (ROOT / "Containerfile").read_text()
    assert re.search(r"^ARG BASE=\S*python:3\.1\d", text, re.M)
    assert re.search(r"^USER vidgate", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*healthz", text, re.M)
    assert 'VOLUME ["/data"]' in text
    assert "uv sync --locked" in text
