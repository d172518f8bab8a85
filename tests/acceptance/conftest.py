"""Fixtures of the acceptance tests (real ``vidgate`` processes; helpers in serving.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import Served


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[Served]]:
    """``serve(*args, env=...)`` starts ``vidgate serve`` in ``tmp_path``; all stop afterwards,
    and none may have logged a working signed link (``signature=``: the log redacts them)."""
    started: list[Served] = []

    class Tracked(Served):
        def __init__(self, *args: str, env: dict[str, str]) -> None:
            super().__init__(*args, env=env, cwd=tmp_path)
            started.append(self)

    yield Tracked
    for server in started:
        server.stop()
    leaked = [line for server in started for line in server.lines if "signature=" in line]
    assert not leaked, f"a signed link in the log: {leaked[:3]}"
