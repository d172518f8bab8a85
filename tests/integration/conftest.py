"""Fixtures of the integration tests: a fast, freshly reset emulator, the pipeline harness, and
S3 (moto) with a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
from pipeline_harness import Harness
from s3_support import CREDENTIALS, moto_server
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


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto S3 server (one per xdist worker)."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    name = f"vidgate-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=name)
    client.close()
    return name
