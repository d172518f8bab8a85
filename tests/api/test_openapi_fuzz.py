"""schemathesis over the app's own OpenAPI spec, against a real uvicorn server on loopback.

Every operation is fuzzed with schema-valid (positive) and schema-breaking (negative) requests;
each answer must be no 5xx, a documented status, a documented content type, and a body matching
the documented schema. The default suite runs a short pass; the ``slow`` one sends well over
1,000 requests (``pytest -m slow tests/api/test_openapi_fuzz.py``, about a minute).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from api_helpers import T2V, bearer, make_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from vidgate.api.app import create_app
from vidgate.runtime import open_key_store
from vidgate.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


BOTH = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 (any port) in a background thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    settings = make_settings(data_dir)
    headers = bearer(asyncio.run(make_key(settings)))
    # With the worker, a valid job ends in about a second, so a `?wait=` is not held for long.
    with ServerThread(create_app(settings)) as base_url:
        # Something to find: a queued job, so id-based routes also see a real id now and then.
        job = {**T2V}
        httpx.post(f"{base_url}/v1/generations", json=job, headers=headers).raise_for_status()
        yield base_url, headers


async def make_key(settings: Settings) -> str:
    async with open_key_store(settings) as keys:
        return (await keys.create_key("fuzz")).token


def fuzz(
    base_url: str, headers: dict[str, str], *, examples: int, modes: list[GenerationMode]
) -> int:
    schema = schemathesis.openapi.from_dict(httpx.get(f"{base_url}/openapi.json").json())
    calls = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                pass  # no parameters to break (GET /healthz has no negative cases)
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    print(f"schemathesis: {calls} requests")
    return calls


def test_fuzz_short(served: tuple[str, dict[str, str]]) -> None:
    calls = fuzz(
        served[0], served[1], examples=8, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    )
    assert calls >= 100


@pytest.mark.slow
def test_fuzz_thousand_requests(served: tuple[str, dict[str, str]]) -> None:
    calls = fuzz(
        served[0], served[1], examples=60, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    )
    assert calls >= 1000
