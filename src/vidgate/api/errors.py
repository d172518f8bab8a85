"""The one renderer of HTTP errors: every error the API sends has this JSON shape.

::

    {"error": {"code": "validation_failed", "message": "...",
               "fields": [{"path": "promptText", "message": "required ..."}]}}

``fields`` appears only on 422 answers, listing every bad field (not just the first). vidgate's
own errors (:mod:`vidgate.errors`), FastAPI's request validation, Starlette's HTTP exceptions
(unknown route, wrong method) and anything unexpected all come out through :func:`error_response`;
the unexpected is logged with its traceback and answered with a 500 that carries no detail beyond
a request id. ``tests/api/test_error_shape.py`` pins the shape. Every error answer, the SDK
surfaces' included, is an :class:`ErrorResponse`: it tells the access log its code and fields.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidgate.api.logging import Refusal, note_refusal
from vidgate.errors import (
    FieldProblem,
    InternalError,
    PayloadTooLarge,
    RangeNotSatisfiable,
    RequestTimeout,
    TransientFault,
    ValidationFailed,
    VidgateError,
    error_class,
)

__all__ = [
    "DEFAULT_RETRY_AFTER_SECONDS",
    "CatchAllMiddleware",
    "ErrorResponse",
    "error_body",
    "error_response",
    "install_error_handlers",
    "validation_problems",
    "vidgate_error_response",
]

log = logging.getLogger("vidgate.api")

#: Retry-After sent with a 503 when the cause gives no better figure.
DEFAULT_RETRY_AFTER_SECONDS = 5
_FIELDS_LOGGED = 20  # of a 422's bad fields, named in its access line


class ErrorResponse(JSONResponse):
    """A JSON error answer that, when sent, leaves its code and bad fields on the request's scope
    for the access log (:func:`vidgate.api.logging.note_refusal`)."""

    def __init__(
        self,
        content: Any,
        status_code: int,
        *,
        code: str,
        fields: Sequence[FieldProblem] = (),
        message: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(content, status_code=status_code, headers=dict(headers or {}))
        paths = tuple(p.path for p in fields[:_FIELDS_LOGGED])
        self.refusal = Refusal(code, paths, message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        note_refusal(scope, self.refusal)
        await super().__call__(scope, receive, send)


def error_body(
    code: str, message: str, fields: Sequence[FieldProblem] | None = None
) -> dict[str, Any]:
    """The envelope; ``fields`` only when given (422)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = [{"path": p.path, "message": p.message} for p in fields]
    return {"error": error}


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    fields: Sequence[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ErrorResponse:
    """Every error answer of the API is made here."""
    if status_code == 422 and fields is None:
        fields = []
    return ErrorResponse(
        error_body(code, message, fields if status_code == 422 else None),
        status_code,
        code=code,
        fields=fields or (),
        message=message,
        headers=headers,
    )


def _retry_after(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return str(DEFAULT_RETRY_AFTER_SECONDS)
    return str(max(1, math.ceil(seconds)))


def vidgate_error_response(exc: VidgateError, request_id: str | None = None) -> ErrorResponse:
    headers: dict[str, str] = {}
    status = exc.status_code
    if isinstance(exc, TransientFault):
        headers["Retry-After"] = _retry_after(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="vidgate"'
    if isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, PayloadTooLarge | RequestTimeout):
        # The rest of the body is unread: close the connection rather than drain it.
        headers["Connection"] = "close"
    if not exc.exposed:
        # Our own fault: say so, log the detail, never send it.
        log.error("request %s failed: %r", request_id, exc, exc_info=exc)
        message = _internal_message(request_id)
        return error_response(500, InternalError.code, message)
    fields = exc.problems if isinstance(exc, ValidationFailed) else None
    return error_response(status, exc.code, str(exc) or exc.code, fields=fields, headers=headers)


def _internal_message(request_id: str | None) -> str:
    suffix = f" (request {request_id})" if request_id else ""
    return f"internal error; the server log has the details{suffix}"


def _loc_path(loc: Sequence[str | int]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def validation_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """FastAPI/pydantic error dicts as named field problems."""
    problems = []
    for err in errors:
        if not isinstance(err, Mapping):
            problems.append(FieldProblem("", str(err)))
            continue
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            # The location is a character offset, not a field: the body as a whole is bad.
            detail = (err.get("ctx") or {}).get("error", "")
            problems.append(FieldProblem("", f"the body is not valid JSON ({detail})"))
            continue
        problems.append(FieldProblem(_loc_path(err.get("loc", ())), message))
    return problems or [FieldProblem("", "the request is invalid")]


def _request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


async def _on_vidgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VidgateError)
    return vidgate_error_response(exc, _request_id(request))


async def _on_request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc.errors())
    message = "; ".join(str(p) for p in problems)
    return error_response(422, ValidationFailed.code, message, fields=problems)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:
        # FastAPI's only 400: a body it could not decode (not UTF-8, say). Same as bad JSON.
        problem = FieldProblem("", f"the body could not be read ({exc.detail})")
        return error_response(422, ValidationFailed.code, str(problem), fields=[problem])
    code = error_class("", status).code
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if status == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    if status == 405:
        # Starlette names only the first route that matched the path; list every method.
        allowed = ", ".join(_allowed_methods(request))
        headers["Allow"] = allowed
        message = f"{request.method} is not allowed on {request.url.path} (allowed: {allowed})"
    if status in (429, 503):
        headers.setdefault("Retry-After", str(DEFAULT_RETRY_AFTER_SECONDS))
    return error_response(status, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API documents for this path (from the OpenAPI spec, which is cached)."""
    methods: set[str] = set()
    spec = request.app.openapi()
    for template, operations in spec.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through the one renderer."""
    app.add_exception_handler(VidgateError, _on_vidgate_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_middleware(CatchAllMiddleware)


class CatchAllMiddleware:
    """Turns an exception no handler took into the 500 envelope, and logs it with its traceback.

    Starlette's own last-resort handler re-raises after answering; this one does not, so neither a
    test client nor the server prints a traceback to the caller.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            log.info("the client went away before its request was read")
            return
        except Exception as exc:
            request_id = scope.get("state", {}).get("request_id")
            if isinstance(exc, VidgateError):
                response = vidgate_error_response(exc, request_id)
            else:
                log.exception("request %s failed", request_id)
                response = error_response(500, InternalError.code, _internal_message(request_id))
            if started:  # too late for an answer: the client sees the connection end
                raise
            await response(scope, receive, send)
