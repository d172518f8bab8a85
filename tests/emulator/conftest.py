"""The emulator as a real HTTP server on 127.0.0.1 (port 0), the official SDK as the client.

One server per test process, reset before every test: fast timings (0.3 s tasks), no faults.
Each test chooses what it needs through the control endpoint (``emulator.control(...)``). The
environment is cleared by the autouse fixture of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from runwayml import AsyncRunwayML, RunwayML

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import MediaHost

API_KEY = "key_" + "0123456789abcdef" * 8  # the documented shape; any key is accepted


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(task_seconds=0.3, pending_seconds=0.05, seed=20241106)
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def media_host() -> Iterator[MediaHost]:
    with MediaHost() as host:
        yield host


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[RunwayML]:
    with RunwayML(api_key=API_KEY, base_url=emulator.base_url) as sdk:
        yield sdk


@pytest.fixture
async def async_client(emulator: EmulatorServer) -> AsyncIterator[AsyncRunwayML]:
    async with AsyncRunwayML(api_key=API_KEY, base_url=emulator.base_url) as sdk:
        yield sdk
