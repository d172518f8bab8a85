"""Fuzzing against a real uvicorn server on loopback: schemathesis over the app's own OpenAPI
spec, and hypothesis-made raw bodies (crafted JSON, bytes, multipart) at every route with a body.

Every operation is fuzzed with schema-valid (positive) and schema-breaking (negative) requests;
each answer must be no 5xx, a documented status, a documented content type, and a body matching
the documented schema. The raw pass sends JSON with lone surrogates, deep nesting, huge numbers,
odd keys, random bytes under every content type, and multipart bodies with random boundaries,
headers and parts: every answer must be a 4xx or 2xx, and the server must log no error.

Budgets and seeds are fixed (hypothesis ``derandomize``), so ``make test`` runs the same short
pass every time (well under a minute); ``make fuzz`` multiplies every budget by
``VIDGATE_FUZZ_SCALE`` (10) and adds the 1,000-request schemathesis run. Each pass prints its
case count and the longest input it sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
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
from hypothesis import strategies as st
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
#: ``make fuzz`` sets it (10): every budget below is multiplied by it.
SCALE = int(os.environ.get("VIDGATE_FUZZ_SCALE", "1"))


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
@pytest.mark.skipif(SCALE == 1, reason="`make fuzz` runs it (VIDGATE_FUZZ_SCALE)")
def test_fuzz_thousand_requests(served: tuple[str, dict[str, str]]) -> None:
    calls = fuzz(
        served[0], served[1], examples=60, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    )
    assert calls >= 1000


# --- raw bodies ---------------------------------------------------------------------------------

# Any code point, lone surrogates included (hypothesis leaves them out unless asked).
_ANY_CHAR = st.characters(exclude_categories=())
_TEXT = st.text(_ANY_CHAR, max_size=40)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_FIELDS = (
    "endpoint",
    "model",
    "promptText",
    "promptImage",
    "ratio",
    "duration",
    "references",
    "promptTexts",
    "webhookUrl",
    "seed",
    "url",
    "useCase",
    "prompt",
    "size",
    "seconds",
)
_CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "application/vnd.api+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
)


def _nested(depth: int, leaf: str) -> str:
    return "[" * depth + leaf + "]" * depth


@st.composite
def json_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A generation-like object with fields swapped for anything, as JSON text (surrogates as
    escapes), now and then wrapped deep, overflowing, or cut short."""
    body: dict[str, object] = {**T2V}
    for _ in range(draw(st.integers(0, 4))):
        body[draw(st.sampled_from(_FIELDS) | _TEXT)] = draw(_JSON)
    text = json.dumps(body, ensure_ascii=True, allow_nan=True)
    shape = draw(st.sampled_from(["plain", "deep", "number", "cut", "deep-field"]))
    if shape == "deep":
        text = _nested(draw(st.integers(1, 3000)), text)
    elif shape == "deep-field":
        text = text.replace('"promptText": ', '"promptText": ' + "[" * 900, 1) + "]" * 900
    elif shape == "number":
        text = text.replace("2}", draw(st.sampled_from(["1e999}", "-1e999}", "1" * 5000 + "}"])))
    elif shape == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass"), draw(_CONTENT_TYPES)


@st.composite
def raw_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    return draw(st.binary(max_size=3000)), draw(_CONTENT_TYPES)


_BOUNDARY = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=0, max_size=600)
_HEADER_LINE = st.sampled_from(
    [
        b'Content-Disposition: form-data; name="file"; filename="a.png"',
        b'Content-Disposition: form-data; name="model"',
        b'Content-Disposition: form-data; name="field"',
        b"Content-Disposition: form-data",
        b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%ff%fe",
        b"Content-Type: image/png",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"no colon at all",
        b"X-Long: " + b"x" * 9000,
    ]
) | st.binary(max_size=80)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """Multipart bodies with random boundaries (declared and used may differ), header lines,
    part contents (PNG starts, bytes, invalid UTF-8) and endings."""
    boundary = draw(_BOUNDARY)
    used = boundary if draw(st.booleans()) else draw(_BOUNDARY)
    body = b""
    for _ in range(draw(st.integers(0, 4))):
        headers = b"\r\n".join(draw(st.lists(_HEADER_LINE, max_size=4)))
        content = draw(
            st.sampled_from([b"\x89PNG\r\n\x1a\n", b"gen4.5", b"\xff\xfe"]) | st.binary()
        )
        body += b"--" + used.encode() + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    body += draw(st.sampled_from([b"--" + used.encode() + b"--\r\n", b"", b"--"]))
    quoted = draw(st.booleans())
    declared = f'"{boundary}"' if quoted else boundary
    return body, f"multipart/form-data; boundary={declared}"


def _body_routes(spec: dict[str, Any], job_id: str) -> list[tuple[str, str]]:
    """Every (method, path) of the spec that takes a body, with real ids filled in."""
    routes = []
    for template, operations in spec["paths"].items():
        for method in operations:
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                path = template
                while "{" in path:
                    start = path.index("{")
                    path = path[:start] + job_id + path[path.index("}", start) + 1 :]
                routes.append((method.upper(), path))
    return sorted(set(routes))


# The Runway and OpenAI surfaces are not in the spec: listed here.
_SDK_ROUTES = [
    *(("POST", f"/runway/v1/{e}") for e in ("text_to_video", "image_to_video", "video_to_video")),
    ("POST", "/runway/v1/character_performance"),
    ("POST", "/runway/v1/organization/usage"),
    ("POST", "/runway/v1/uploads"),
    ("POST", "/runway/uploads/not-a-slot"),
    ("DELETE", "/runway/v1/tasks/not-a-task"),
    ("POST", "/openai/v1/videos"),
    ("DELETE", "/openai/v1/videos/not-a-video"),
]


class RawFuzz:
    """Sends hypothesis-made bodies to every body route; counts cases and the longest input."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        headers = {**headers, "X-Runway-Version": "2024-11-06"}  # the Runway surface wants it
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        spec = self.client.get("/openapi.json").json()
        job_id = self.client.get("/v1/generations").json()["data"][0]["id"]
        self.routes = [*_body_routes(spec, job_id), ("POST", "/v1/uploads"), *_SDK_ROUTES]
        self.cases = 0
        self.longest = 0
        self.failures: list[str] = []

    def send(self, route: tuple[str, str], body: bytes, content_type: str) -> None:
        method, path = route
        headers = {"Content-Type": content_type} if content_type else {}
        response = self.client.request(method, path, content=body, headers=headers)
        self.cases += 1
        self.longest = max(self.longest, len(body))
        if response.status_code >= 500 or "Traceback" in response.text:
            self.failures.append(
                f"{method} {path} {content_type!r} {body[:200]!r}: {response.text}"
            )

    def run(self, strategy: st.SearchStrategy[tuple[bytes, str]], examples: int) -> None:
        routes = st.sampled_from(self.routes)

        @settings(
            max_examples=examples * SCALE,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(route=routes, case=strategy)
        def one(route: tuple[str, str], case: tuple[bytes, str]) -> None:
            self.send(route, *case)

        one()


def test_raw_bodies_never_get_a_5xx(
    served: tuple[str, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    fuzzer = RawFuzz(*served)
    with caplog.at_level(logging.ERROR, logger="vidgate"):
        fuzzer.run(json_bodies(), 250)
        fuzzer.run(raw_bodies(), 100)
        fuzzer.run(multipart_bodies(), 200)
    print(f"raw fuzz: {fuzzer.cases} cases, longest input {fuzzer.longest} bytes")
    assert not fuzzer.failures, "\n".join(fuzzer.failures[:20])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[:5]
    assert fuzzer.cases >= 550 * SCALE
