"""Server-Sent Events: every status and progress change of a job, as it happens.

* ``GET /v1/generations/{id}/events`` streams one job's events from its first (or from the one
  after ``Last-Event-ID``) and ends after the job's terminal event. Resumed after that event, it
  answers 204, which tells an ``EventSource`` to stop reconnecting.
* ``GET /v1/events`` streams the events of every job the caller can see, without end. A fresh
  connection starts with a ``ready`` event whose id is the newest event at that moment, so the
  stream carries only what happens next; a reconnect with ``Last-Event-ID`` misses nothing.

Each event's id is the job store's event id (increasing; see :meth:`JobStore.events_since`), its
name the event type (``created``, ``status``, ``progress``, ``cancel_requested``), and its data
one JSON object::

    id: 42
    event: progress
    data: {"id":42,"jobId":"01J...","type":"progress","status":"running","progress":0.4,...}

The store is polled every :data:`POLL_SECONDS` (an ``await``, never blocking the loop) and a
comment is sent after :data:`KEEPALIVE_SECONDS` of silence so that proxies keep the connection.
Same key and tenancy rules as every other route: another key's job is a 404.

Neither route is in the OpenAPI spec: OpenAPI cannot describe an event stream, and a client
generated from the spec (or a fuzzer) would wait forever on the endless one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse
from pydantic.alias_generators import to_camel
from sqlalchemy import func, select

from vidgate.api.deps import CallerDep, ContextDep
from vidgate.errors import ValidationFailed
from vidgate.jobs.models import JobEvent
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore

__all__ = [
    "KEEPALIVE_SECONDS",
    "POLL_SECONDS",
    "RETRY_MILLISECONDS",
    "format_event",
    "router",
]

router = APIRouter(tags=["events"])

#: How often the job store is asked for new events.
POLL_SECONDS = 0.25
#: Silence after which a keep-alive comment is sent.
KEEPALIVE_SECONDS = 15.0
#: The reconnection delay suggested to clients (the SSE ``retry`` field).
RETRY_MILLISECONDS = 2000
#: While a per-job stream is idle, the job row is re-read this often to notice its end.
_JOB_CHECK_SECONDS = 1.0
_BATCH = 200
_MAX_EVENT_ID = 2**63 - 1
_TERMINAL = frozenset(status.value for status in Status if status.is_terminal)
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

LastEventIdHeader = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="Resume after this event id."),
]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return "\n".join(lines) + "\n\n"


def format_event(event: JobEvent) -> str:
    """One job event as an SSE message (id, event name, one line of JSON data)."""
    data: dict[str, Any] = {
        "id": event.id,
        "jobId": event.job_id,
        "type": event.type,
        "createdAt": _utc(event.created_at).isoformat().replace("+00:00", "Z"),
    }
    for key, value in event.data.items():
        data.setdefault(to_camel(key), value)
    return _sse(event.type, data, event.id)


def _is_terminal(event: JobEvent) -> bool:
    return event.data.get("status") in _TERMINAL


def _parse_last_event_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit() or int(text) > _MAX_EVENT_ID:
        raise ValidationFailed.single("Last-Event-ID", "must be an event id sent by this stream")
    return int(text)


async def _newest_event_id(store: JobStore, owner: str | None) -> int:
    stmt = select(func.max(JobEvent.id))
    if owner is not None:
        stmt = stmt.where(JobEvent.owner == owner)
    async with store.engine.connect() as conn:
        newest = await conn.scalar(stmt)
    return int(newest or 0)


async def _job_events(
    store: JobStore, job_id: str, owner: str | None, after: int
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    quiet_since = checked_at = time.monotonic()
    while True:
        events = await store.events_since(after, owner=owner, job_id=job_id, limit=_BATCH)
        for event in events:
            after = event.id
            yield format_event(event)
            if _is_terminal(event):
                yield _sse("end", {"jobId": job_id, "status": event.data["status"]})
                return
        now = time.monotonic()
        if events:
            quiet_since = now
            if len(events) == _BATCH:
                continue
        elif now - checked_at >= _JOB_CHECK_SECONDS:
            # Only reached if the terminal event lies before ``after`` (a client's odd resume).
            checked_at = now
            job = await store.get_job(job_id, owner)
            if job.status.is_terminal:
                yield _sse("end", {"jobId": job_id, "status": job.status.value})
                return
        if now - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = now
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


async def _all_events(
    store: JobStore, owner: str | None, after: int, ready: bool
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    if ready:
        yield _sse("ready", {"lastEventId": after}, after)
    quiet_since = time.monotonic()
    while True:
        events = await store.events_since(after, owner=owner, limit=_BATCH)
        for event in events:
            after = event.id
            yield format_event(event)
        now = time.monotonic()
        if events:
            quiet_since = now
            if len(events) == _BATCH:
                continue
        elif now - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = now
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


@router.get(
    "/v1/generations/{job_id}/events",
    include_in_schema=False,
    summary="Stream one generation's events (SSE)",
)
async def job_events(
    job_id: str,
    ctx: ContextDep,
    caller: CallerDep,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Every event of the job (after ``Last-Event-ID``), ending after its terminal event."""
    store = ctx.runtime.store
    job = await store.get_job(job_id, caller.owner)  # NotFound for someone else's job
    after = _parse_last_event_id(last_event_id) or 0
    if job.status.is_terminal:
        pending = await store.events_since(after, owner=caller.owner, job_id=job.id, limit=1)
        if not pending:
            return Response(status_code=204, headers=_HEADERS)
    return StreamingResponse(
        _job_events(store, job.id, caller.owner, after),
        media_type="text/event-stream",
        headers=_HEADERS,
    )


@router.get("/v1/events", include_in_schema=False, summary="Stream all your jobs' events (SSE)")
async def all_events(
    ctx: ContextDep,
    caller: CallerDep,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Every later event of every job the caller can see, without end."""
    store = ctx.runtime.store
    after = _parse_last_event_id(last_event_id)
    ready = after is None
    if after is None:
        after = await _newest_event_id(store, caller.owner)
    return StreamingResponse(
        _all_events(store, caller.owner, after, ready),
        media_type="text/event-stream",
        headers=_HEADERS,
    )
