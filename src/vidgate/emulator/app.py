"""The emulator's HTTP surface: Runway's public API under ``/v1``, plus ``/_emulator`` extras.

Runway's API (the wire format of docs/wire-format.md, what the official SDKs send and parse):

* ``POST /v1/text_to_video``, ``/v1/image_to_video``, ``/v1/video_to_video``,
  ``/v1/character_performance`` -> ``{id, estimatedCost: {credits}}``
* ``GET /v1/tasks/{id}``; ``DELETE /v1/tasks/{id}`` (cancel or delete; 204; then 404)
* ``POST /v1/uploads`` -> ``{uploadUrl, fields, runwayUri}``
* ``GET /v1/organization``; ``POST /v1/organization/usage``

Every ``/v1`` request needs ``Authorization: Bearer <key>`` (401) and ``X-Runway-Version:
2024-11-06`` (400). Errors are ``{"error": "<field>: <reason>"}``. Input is checked by
:func:`vidgate.requests.generation.validate_request`, the one validator vidgate has.

Outside Runway's API, with no auth: ``POST /_emulator/storage/uploads`` (the presigned upload
target), ``GET|HEAD /_emulator/outputs/<id>.mp4`` (signed output URLs) and
``GET /_emulator/health``. The control endpoints ``GET|POST /_emulator/config``,
``GET /_emulator/stats``, ``POST /_emulator/reset``, ``GET /_emulator/tasks`` and
``POST /_emulator/tasks/{id}/{succeed|fail|cancel}`` take the emulator's control token in
:data:`CONTROL_TOKEN_HEADER` (401 without it): anything on the machine can reach a loopback port,
and a reset fails every job in flight.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

from vidgate.catalog import Endpoint
from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.downloads import FileDownload
from vidgate.emulator.faults import FaultMiddleware
from vidgate.emulator.host_guard import HostOriginGuard, emulator_policy
from vidgate.emulator.inputs import resolve_media
from vidgate.emulator.outputs import OUTPUT_ROUTE
from vidgate.emulator.plan import plan_output
from vidgate.emulator.pricing import price_task
from vidgate.emulator.state import EmulatorState
from vidgate.errors import (
    FieldProblem,
    RateLimited,
    RequestError,
    Unauthorized,
    ValidationFailed,
    VidgateError,
)
from vidgate.http_guard import OriginPolicy
from vidgate.provider.wire import RUNWAY_VERSION, RUNWAY_VERSION_HEADER
from vidgate.requests.generation import validate_request

__all__ = ["CONTROL_TOKEN_HEADER", "create_emulator_app", "emulator_state"]

STORAGE_ROUTE = "/_emulator/storage/uploads"
#: The header that carries the control token.
CONTROL_TOKEN_HEADER = "X-Emulator-Token"


class _EmulatorApp(FastAPI):
    """FastAPI with the fault layer outside everything, even the server-error handler, and the
    Host and Origin guard right inside it (its refusals are marked and counted too)."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        guarded = HostOriginGuard(inner, self.state.origin_policy, render=_error)
        state = emulator_state(self)
        return FaultMiddleware(guarded, stats=state.stats, draw_fault=state.draw_fault)


def emulator_state(app: FastAPI) -> EmulatorState:
    """The :class:`EmulatorState` behind an app made by :func:`create_emulator_app`."""
    state: EmulatorState = app.state.emulator
    return state


def _state(request: Request) -> EmulatorState:
    return emulator_state(request.app)


def create_emulator_app(
    config: EmulatorConfig | None = None,
    *,
    state: EmulatorState | None = None,
    control_token: str | None = None,
    origin_policy: OriginPolicy | None = None,
) -> FastAPI:
    """The emulator as an ASGI app; its state is closed when the app shuts down.

    ``control_token``: required by the control endpoints; None leaves them open (in-process use).
    ``origin_policy``: the hosts and origins it serves (default: those of one on 127.0.0.1).
    """
    state = state or EmulatorState(config or EmulatorConfig())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = _EmulatorApp(
        title="vidgate Runway emulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.emulator = state
    app.state.control_token = control_token
    app.state.origin_policy = origin_policy or emulator_policy("127.0.0.1")
    app.add_exception_handler(VidgateError, _vidgate_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(_runway_api())
    app.include_router(_storage_and_outputs())
    app.include_router(_control())
    return app


# --- errors, one renderer: {"error": "..."} ----------------------------------------------------


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _vidgate_error(request: Request, exc: VidgateError) -> JSONResponse:
    if isinstance(exc, ValidationFailed):
        return _error(400, str(exc))  # Runway answers every invalid input with 400
    if isinstance(exc, RateLimited):
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(int(exc.retry_after))
        return _error(429, str(exc), headers)
    if isinstance(exc, RequestError):  # 401, 403, 404 and the rest of the caller's errors
        return _error(exc.status_code, str(exc))
    return _error(500, "Internal error in the emulator")


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _request_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return _error(400, "; ".join(str(e.get("msg")) for e in exc.errors()))


async def _internal_error(request: Request, exc: Exception) -> Response:
    return _error(500, f"Internal error in the emulator: {type(exc).__name__}")


# --- Runway's API ------------------------------------------------------------------------------


def _check_runway_headers(request: Request) -> None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Missing API key: send Authorization: Bearer <your API key>")
    key = _state(request).config.api_key
    if key is not None and not hmac.compare_digest(token.encode(), key.encode()):
        raise Unauthorized("Invalid API key")
    version = request.headers.get(RUNWAY_VERSION_HEADER)
    if version is None:
        raise RequestError(f"{RUNWAY_VERSION_HEADER}: required; send {RUNWAY_VERSION}")
    if version != RUNWAY_VERSION:
        raise RequestError(
            f"{RUNWAY_VERSION_HEADER}: unsupported version {version!r}; use {RUNWAY_VERSION}"
        )


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationFailed.single("body", "not valid JSON") from None


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _runway_api() -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(_check_runway_headers)])

    for endpoint in Endpoint:
        router.add_api_route(
            f"/{endpoint.value}",
            _generation_route(endpoint),
            methods=["POST"],
            name=endpoint.value,
        )

    @router.get("/tasks/{task_id}")
    async def get_task(task_id: str, request: Request) -> JSONResponse:
        state = _state(request)
        state.stats.count("taskGets")
        return JSONResponse(state.task_view(task_id, base_url=_base_url(request)))

    @router.delete("/tasks/{task_id}")
    async def delete_task(task_id: str, request: Request) -> Response:
        state = _state(request)
        state.stats.count("taskDeletes")
        state.delete_task(task_id)
        return Response(status_code=204)

    @router.post("/uploads")
    async def create_upload(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ValidationFailed.single("", "the request body must be a JSON object")
        filename, kind = body.get("filename"), body.get("type", "ephemeral")
        problems = []
        if not isinstance(filename, str) or not filename.strip():
            problems.append(FieldProblem("filename", "required, the name of the file to upload"))
        if kind != "ephemeral":
            problems.append(FieldProblem("type", f"must be 'ephemeral', got {kind!r}"))
        if problems:
            raise ValidationFailed(problems)
        upload, fields = _state(request).create_upload(str(filename))
        return JSONResponse(
            {
                "uploadUrl": _base_url(request) + STORAGE_ROUTE,
                "fields": fields,
                "runwayUri": upload.runway_uri,
            }
        )

    @router.get("/organization")
    async def organization(request: Request) -> JSONResponse:
        return JSONResponse(_state(request).organization_view())

    @router.post("/organization/usage")
    async def usage(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ValidationFailed.single("", "the request body must be a JSON object")
        start, before = body.get("startDate"), body.get("beforeDate")
        for name, value in (("startDate", start), ("beforeDate", before)):
            if value is not None and not isinstance(value, str):
                raise ValidationFailed.single(name, "must be a date YYYY-MM-DD")
        return JSONResponse(_state(request).usage_view(start, before))

    return router


def _generation_route(endpoint: Endpoint) -> Any:
    async def create(request: Request) -> JSONResponse:
        state = _state(request)
        config = state.config
        body = await _json_body(request)
        generation = validate_request(endpoint.value, body, allow_legacy=config.allow_legacy)
        media = await resolve_media(
            generation, config=config, catalog=state.catalog, lookup_upload=state.lookup_upload
        )
        plan = plan_output(generation, media, fps=config.fps, seed=secrets.randbelow(2**31))
        price = price_task(
            generation,
            plan,
            catalog=state.catalog,
            synthetic_rate=config.synthetic_credits_per_second,
        )
        task = state.create_task(
            model=generation.model,
            endpoint=endpoint,
            plan=plan,
            estimated_credits=price.estimated_credits,
            credits_per_second=price.credits_per_second,
        )
        if config.create_answer_seconds:
            await asyncio.sleep(config.create_answer_seconds)  # the task exists; the answer lags
        return JSONResponse({"id": task.id, "estimatedCost": {"credits": task.estimated_credits}})

    create.__name__ = f"create_{endpoint.value}"
    return create


# --- storage and outputs (no Runway auth: presigned and signed URLs) ---------------------------


def _storage_and_outputs() -> APIRouter:
    router = APIRouter()

    @router.post(STORAGE_ROUTE)
    async def storage_upload(request: Request) -> Response:
        async with request.form(max_files=1, max_fields=64) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return PlainTextResponse("missing the file part", status_code=400)
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            await file.seek(0)
            # Starlette spooled the file to disk; it is copied on in chunks, never read whole.
            upload = await asyncio.to_thread(
                _state(request).complete_upload, fields, file.file, file.content_type
            )
        if upload is None:
            return PlainTextResponse("invalid or expired upload policy", status_code=403)
        return Response(status_code=204)

    @router.api_route(OUTPUT_ROUTE + "/{name}", methods=["GET", "HEAD"])
    async def output(
        name: str, request: Request, expires: str = "", signature: str = ""
    ) -> Response:
        state = _state(request)
        path = state.output_file(name.removesuffix(".mp4"), expires, signature)
        head_only = request.method == "HEAD"
        if not head_only:
            state.stats.count("outputDownloads")
        config = state.config
        return FileDownload(
            path,
            range_header=request.headers.get("range"),
            head_only=head_only,
            bytes_per_second=config.download_bytes_per_second,
            truncate=config.truncate_downloads,
            stats=state.stats,
        )

    return router


# --- control -----------------------------------------------------------------------------------


def _require_token(request: Request) -> None:
    expected: str | None = request.app.state.control_token
    given = request.headers.get(CONTROL_TOKEN_HEADER, "")
    if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(
            f"the control endpoint needs {CONTROL_TOKEN_HEADER}: the token the emulator "
            "printed when it started (or EmulatorServer.control_token)"
        )


def _control() -> APIRouter:
    router = APIRouter(prefix="/_emulator")
    guarded = APIRouter(dependencies=[Depends(_require_token)])

    @guarded.get("/config")
    async def get_config(request: Request) -> JSONResponse:
        return JSONResponse(_state(request).config.public())

    @guarded.post("/config")
    async def set_config(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ValidationFailed.single("", "the body must be a JSON object of knobs")
        return JSONResponse(_state(request).update_config(body).public())

    @guarded.get("/stats")
    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(_state(request).stats.snapshot())

    @guarded.post("/reset")
    async def reset(request: Request) -> JSONResponse:
        state = _state(request)
        state.reset()
        return JSONResponse(state.config.public())

    @guarded.get("/tasks")
    async def tasks(request: Request) -> JSONResponse:
        return JSONResponse(_state(request).tasks_view())

    @guarded.post("/tasks/{task_id}/{action}")
    async def force(
        task_id: str, action: Literal["succeed", "fail", "cancel"], request: Request
    ) -> JSONResponse:
        body = await _json_body(request)
        code = body.get("failureCode") if isinstance(body, dict) else None
        if code is not None and (not isinstance(code, str) or not code):
            raise ValidationFailed.single("failureCode", "must be a non-empty string")
        state = _state(request)
        state.force(task_id, action, failure_code=code)
        return JSONResponse(state.task_view(task_id, base_url=_base_url(request)))

    @router.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    router.include_router(guarded)
    return router
