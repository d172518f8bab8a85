"""A small typed client of vidgate's HTTP API, over httpx; the CLI talks to vidgate through it.

Answers are parsed into the API's own response models (:mod:`vidgate.api.schemas`), and every
error answer is raised as the matching :mod:`vidgate.errors` class, built from the one error
envelope (a 422's ``fields`` become :class:`~vidgate.errors.FieldProblem` objects). A server
that cannot be reached is a :class:`~vidgate.errors.TransientFault`.

::

    with VidgateClient("http://127.0.0.1:8000", api_key=None) as client:
        job = client.create_generation({"endpoint": "text_to_video", "model": "gen4.5", ...})
        for event in client.job_events(job.id):
            print(event.event, event.data.get("progress"))
        client.download_video(job.id, Path("out.mp4"))
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from vidgate.api.schemas import (
    EstimateOut,
    HealthOut,
    JobList,
    JobOut,
    ModelOut,
    RecommendOut,
    UploadOut,
)
from vidgate.errors import (
    FieldProblem,
    TransientFault,
    VidgateError,
    error_class,
)

__all__ = ["SSEEvent", "VidgateClient", "error_from_response", "parse_sse"]

_M = TypeVar("_M", bound=BaseModel)

#: Reconnections of an event stream in a row before giving up.
_STREAM_RETRIES = 8
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SSEEvent:
    """One Server-Sent Event: its id (None when it had none), name and JSON data."""

    id: int | None
    event: str
    data: dict[str, Any] = field(default_factory=dict)


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, str, str, int | None]]:
    """Raw SSE messages from a stream's lines: ``(id, event, data, retry)``, comments dropped."""
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    retry: int | None = None
    for line in lines:
        if line == "":
            if data or event_id is not None or retry is not None:
                yield event_id, name, "\n".join(data), retry
            event_id, name, data, retry = None, "message", [], None
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "id":
            event_id = value
        elif key == "event":
            name = value
        elif key == "data":
            data.append(value)
        elif key == "retry" and value.isdigit():
            retry = int(value)


def _problems(fields: Any) -> list[FieldProblem]:
    if not isinstance(fields, list):
        return []
    return [
        FieldProblem(str(item.get("path", "")), str(item.get("message", "")))
        for item in fields
        if isinstance(item, Mapping)
    ]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> VidgateError:
    """The :mod:`vidgate.errors` exception an error answer of the API stands for."""
    try:
        body = response.json()
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
        problems = _problems(error.get("fields"))
    except (ValueError, KeyError, TypeError):
        code, message, problems = "", response.text[:500] or response.reason_phrase, []
    status = response.status_code
    message = message or f"HTTP {status}"
    size = _content_range_size(response) if status == 416 else None
    return error_class(code, status).from_answer(
        message, problems=problems, retry_after=_retry_after(response), size=size
    )


def _content_range_size(response: httpx.Response) -> int | None:
    # ``bytes */<size>``: the file's size, sent with a 416.
    _, _, size = response.headers.get("Content-Range", "").rpartition("/")
    return int(size) if size.isdigit() else None


class VidgateClient:
    """vidgate's API at ``base_url``; ``api_key`` is sent as a Bearer token when given."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "vidgate-cli"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if response.is_error:
            raise error_from_response(response)
        return response

    def _unreachable(self, exc: httpx.TransportError) -> TransientFault:
        return TransientFault(f"cannot reach vidgate at {self.base_url}: {exc or type(exc)}")

    def _get(self, schema: type[_M], path: str, params: Mapping[str, Any] | None = None) -> _M:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return schema.model_validate(self._request("GET", path, params=query).json())

    def _post(self, schema: type[_M], path: str, body: Mapping[str, Any], **kwargs: Any) -> _M:
        return schema.model_validate(self._request("POST", path, json=body, **kwargs).json())

    # -- the API ------------------------------------------------------------------------------

    def health(self) -> HealthOut:
        return self._get(HealthOut, "/healthz")

    def model(self, model_id: str) -> ModelOut:
        return self._get(ModelOut, f"/v1/models/{model_id}")

    def estimate(
        self, model: str, *, duration: float | None = None, endpoint: str | None = None
    ) -> EstimateOut:
        body = {"model": model, "duration": duration, "endpoint": endpoint}
        return self._post(EstimateOut, "/v1/estimate", {k: v for k, v in body.items() if v})

    def recommend(
        self,
        use_case: str,
        *,
        priority: str = "balanced",
        has_image: bool = False,
        duration: float | None = None,
    ) -> RecommendOut:
        body: dict[str, Any] = {"useCase": use_case, "priority": priority, "hasImage": has_image}
        if duration is not None:
            body["duration"] = duration
        return self._post(RecommendOut, "/v1/recommend", body)

    def upload(
        self,
        path: Path,
        *,
        model: str | None = None,
        endpoint: str | None = None,
        field: str | None = None,
    ) -> UploadOut:
        """Send a local file to ``POST /v1/uploads`` (streamed from disk)."""
        form = {"model": model, "endpoint": endpoint, "field": field}
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with path.open("rb") as handle:
            response = self._request(
                "POST",
                "/v1/uploads",
                data={k: v for k, v in form.items() if v},
                files={"file": (path.name, handle, mime)},
                timeout=httpx.Timeout(30.0, write=600.0, read=600.0),
            )
        return UploadOut.model_validate(response.json())

    def create_generation(
        self, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> JobOut:
        """Queue a generation; with ``idempotency_key`` a lost answer is retried once, safely."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            return self._post(JobOut, "/v1/generations", body, headers=headers)
        except TransientFault:
            if not idempotency_key:
                raise
            time.sleep(1.0)  # the same key and body can only ever make one job
            return self._post(JobOut, "/v1/generations", body, headers=headers)

    def generation(self, job_id: str, *, wait: float | None = None) -> JobOut:
        timeout = httpx.Timeout(30.0 + (wait or 0.0))
        response = self._request(
            "GET",
            f"/v1/generations/{job_id}",
            params={"wait": wait} if wait else None,
            timeout=timeout,
        )
        return JobOut.model_validate(response.json())

    def generations(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> JobList:
        params = {"status": status, "model": model, "limit": limit, "cursor": cursor}
        return self._get(JobList, "/v1/generations", params)

    def cancel(self, job_id: str) -> JobOut:
        return JobOut.model_validate(self._request("DELETE", f"/v1/generations/{job_id}").json())

    def download_video(
        self, job_id: str, dest: Path, *, on_bytes: Callable[[int, int | None], None] | None = None
    ) -> int:
        """Save the job's video to ``dest`` (written aside, then renamed); returns its size.

        ``on_bytes(done, total)`` is called as the bytes arrive.
        """
        partial = dest.with_name(f".{dest.name}.part")
        done = 0
        try:
            with self._http.stream("GET", f"/v1/generations/{job_id}/video") as response:
                if response.is_error:
                    response.read()
                    raise error_from_response(response)
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        if on_bytes is not None:
                            on_bytes(done, total)
            if total is not None and done != total:
                raise TransientFault(f"the download stopped at {done} of {total} bytes")
            os.replace(partial, dest)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        return done

    def job_events(self, job_id: str, *, last_event_id: int | None = None) -> Iterator[SSEEvent]:
        """The job's events (``GET /v1/generations/{id}/events``) until it ends.

        A dropped connection is resumed with ``Last-Event-ID``, so no event is lost or repeated.
        """
        failures = 0
        delay = 0.5
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = str(last_event_id)
            try:
                with self._http.stream(
                    "GET",
                    f"/v1/generations/{job_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=60.0),
                ) as response:
                    if response.is_error:
                        response.read()
                        raise error_from_response(response)
                    if response.status_code == 204:
                        return
                    for raw_id, name, data, retry in parse_sse(response.iter_lines()):
                        failures = 0
                        if retry is not None:
                            delay = retry / 1000
                        event_id = int(raw_id) if raw_id and raw_id.isdigit() else None
                        if event_id is not None:
                            last_event_id = event_id
                        if not data:
                            continue
                        yield SSEEvent(event_id, name, _json_object(data))
                        if name == "end":
                            return
            except (httpx.TransportError, TransientFault) as exc:
                failures += 1
                if failures > _STREAM_RETRIES:
                    if isinstance(exc, TransientFault):
                        raise
                    raise self._unreachable(exc) from exc
            else:
                failures += 1  # closed without an end event: resume, but not forever
                if failures > _STREAM_RETRIES:
                    raise TransientFault(f"the event stream of job {job_id} keeps closing")
            time.sleep(delay)


def _json_object(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {"raw": data}
    return value if isinstance(value, dict) else {"value": value}
