"""Fixtures of the integration tests: a fast, freshly reset emulator and the pipeline harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pipeline_harness import Harness
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.store import JobStore


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The module's emulator, reset, with short tasks (0.4 s) and a fixed seed."""
    emulator_server.reset()
    emulator_server.control(taskSeconds=0.4, pendingSeconds=0.05, seed=7)
    return emulator_server


@pytest.fixture
async def harness(
    engine: AsyncEngine, emulator: EmulatorServer, tmp_path: Path
) -> AsyncIterator[Harness]:
    """The pipeline harness on ``engine``, storing under ``tmp_path/media``."""
    made = Harness.build(JobStore(engine), tmp_path / "media", emulator)
    yield made
    await made.aclose()
