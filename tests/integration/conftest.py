"""Fixtures of the integration tests: a fast, freshly reset emulator."""

from __future__ import annotations

import pytest

from vidgate.emulator.server import EmulatorServer


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The module's emulator, reset, with short tasks (0.4 s) and a fixed seed."""
    emulator_server.reset()
    emulator_server.control(taskSeconds=0.4, pendingSeconds=0.05, seed=7)
    return emulator_server
