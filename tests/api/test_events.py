"""Server-Sent Events: ``GET /v1/generations/{id}/events`` and ``GET /v1/events``.

The per-job stream ends after the job's terminal event, so it is read in process (httpx's ASGI
transport returns once the app is done); the endless ``/v1/events`` is read from a real uvicorn
server on loopback, line by line.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from api_helpers import T2V, Api, ApiFactory, bearer, make_settings

from vidgate.api.app import create_app
from vidgate.client import parse_sse

Event = tuple[int | None, str, dict[str, Any]]


def events_of(text: str) -> list[Event]:
    found = []
    for raw_id, name, data, _retry in parse_sse(iter(text.splitlines())):
        if data:
            found.append((int(raw_id) if raw_id else None, name, json.loads(data)))
    return found


async def finished_job(api: Api, headers: dict[str, str] | None = None) -> str:
    created = await api.post("/v1/generations", json=T2V, headers=headers)
    assert created.status_code == 202, created.text
    job_id: str = created.json()["id"]
    assert (await api.wait_done(job_id, headers))["status"] == "succeeded"
    return job_id


async def test_a_job_stream_has_every_event_of_the_job_and_ends_after_the_last(api: Api) -> None:
    await api.emulator(taskSeconds=1.0)
    created = await api.post("/v1/generations", json=T2V)
    job_id = created.json()["id"]

    response = await api.get(f"/v1/generations/{job_id}/events")  # held until the job ends

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith("retry: ")
    events = events_of(response.text)
    *changes, (end_id, end_name, end_data) = events
    assert (end_id, end_name, end_data) == (None, "end", {"jobId": job_id, "status": "succeeded"})
    stored = await api.ctx.runtime.store.events_since(0, job_id=job_id, limit=1000)
    assert [e[0] for e in changes] == [e.id for e in stored]  # every one, in order
    assert [e[1] for e in changes] == [e.type for e in stored]
    assert changes[0][1] == "created"
    assert all(data["jobId"] == job_id and data["id"] == i for i, _, data in changes)
    statuses = [data["status"] for _, _, data in changes]
    assert statuses[-1] == "succeeded"
    assert {"queued", "running", "succeeded"} <= set(statuses)
    progress = [data["progress"] for _, name, data in changes if name == "progress"]
    assert progress and all(0 < p <= 1 for p in progress), changes
    assert progress == sorted(progress)
    assert changes[-1][2]["createdAt"].endswith("Z")


async def test_a_job_stream_resumes_after_last_event_id(api: Api) -> None:
    job_id = await finished_job(api)
    everything = events_of((await api.get(f"/v1/generations/{job_id}/events")).text)
    ids = [e[0] for e in everything if e[0] is not None]
    resumed = await api.get(
        f"/v1/generations/{job_id}/events", headers={"Last-Event-ID": str(ids[1])}
    )
    assert [e[0] for e in events_of(resumed.text) if e[0] is not None] == ids[2:]
    assert events_of(resumed.text)[-1][1] == "end"

    # After the terminal event there is nothing more to say: 204 stops an EventSource.
    after_end = await api.get(
        f"/v1/generations/{job_id}/events", headers={"Last-Event-ID": str(ids[-1])}
    )
    assert after_end.status_code == 204 and after_end.content == b""


async def test_a_bad_last_event_id_is_named(api: Api) -> None:
    job_id = await finished_job(api)
    for bad in ("abc", "-1", "1e3", str(2**64)):
        response = await api.get("/v1/events", headers={"Last-Event-ID": bad})
        assert response.status_code == 422, bad
        assert response.json()["error"]["fields"][0]["path"] == "Last-Event-ID"
        response = await api.get(f"/v1/generations/{job_id}/events", headers={"Last-Event-ID": bad})
        assert response.status_code == 422, bad


async def test_streams_keep_to_the_callers_own_jobs(api_factory: ApiFactory) -> None:
    api = await api_factory()
    alice, bob = bearer(await api.new_key("alice")), bearer(await api.new_key("bob"))
    job_id = await finished_job(api, alice)

    assert (await api.get(f"/v1/generations/{job_id}/events", headers=alice)).status_code == 200
    for headers in (bob, {}):
        response = await api.get(f"/v1/generations/{job_id}/events", headers=headers)
        assert response.status_code == (404 if headers else 401)
        assert response.json()["error"]["code"] == ("not_found" if headers else "unauthorized")
    assert (await api.get("/v1/generations/nope/events", headers=alice)).status_code == 404
    assert (await api.get("/v1/events")).status_code == 401


class ServerThread:
    """The app under uvicorn on 127.0.0.1 (any port), in a thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with ServerThread(create_app(make_settings(tmp_path, emulator_task_seconds=1.0))) as url:
        yield url


def read_until(stream: Iterator[tuple[str | None, str, str, int | None]], done: Any) -> list[Event]:
    seen: list[Event] = []
    for raw_id, name, data, _retry in stream:
        if not data:
            continue
        seen.append((int(raw_id) if raw_id else None, name, json.loads(data)))
        if done(seen[-1]):
            return seen
    raise AssertionError(f"the stream ended early: {seen}")


def test_the_all_jobs_stream_starts_now_and_resumes_without_loss(served: str) -> None:
    sse = {"Accept": "text/event-stream"}
    with httpx.Client(base_url=served, timeout=30) as client:
        # Something before the stream starts, which the stream must not replay.
        old = client.post("/v1/generations", json=T2V).json()["id"]
        client.get(f"/v1/generations/{old}", params={"wait": 20})
        with client.stream("GET", "/v1/events", headers=sse) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = parse_sse(response.iter_lines())
            (ready_id, name, data), *_ = read_until(lines, lambda e: e[1] == "ready")
            assert name == "ready" and ready_id == data["lastEventId"] and ready_id > 0
            job_id = client.post("/v1/generations", json=T2V).json()["id"]
            live = read_until(lines, lambda e: e[2].get("status") == "succeeded")
        assert {data["jobId"] for _, _, data in live} == {job_id}
        ids = [event_id for event_id, _, _ in live]
        assert ids == sorted(ids) and ids[0] > ready_id
        assert {"created", "status", "progress"} <= {name for _, name, _ in live}

        # Resume from the third event: the rest again, exactly.
        resume = {**sse, "Last-Event-ID": str(ids[2])}
        with client.stream("GET", "/v1/events", headers=resume) as response:
            lines = parse_sse(response.iter_lines())
            again = read_until(lines, lambda e: e[0] == ids[-1])
        assert [event_id for event_id, _, _ in again] == ids[3:]
        assert "ready" not in {name for _, name, _ in again}
