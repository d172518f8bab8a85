"""Errors in Runway's shape, so each official SDK raises its own class for them.

Runway answers ``{"error": "<field>: <reason>"}`` with the status the SDKs map to their classes:
400 ``BadRequestError`` (vidgate's 422: every bad field named), 401 ``AuthenticationError``, 404
``NotFoundError``, 409 ``ConflictError``, 429 ``RateLimitError`` (with ``Retry-After``), 5xx
``InternalServerError``. A budget refusal is 402 (the SDKs' plain ``APIStatusError``, whose
message names the budget). The SDKs retry 408, 409, 429 and 5xx by themselves; an answer that a
retry cannot change carries ``x-should-retry: false`` so they do not.

:class:`RunwayRoute` catches every error its routes raise and renders it here, so vidgate's own
envelope never reaches a Runway SDK.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vidgate.api.errors import DEFAULT_RETRY_AFTER_SECONDS, ErrorResponse, validation_problems
from vidgate.api.sdk_surfaces import error_rendering_route
from vidgate.errors import (
    BudgetExceeded,
    Conflict,
    FieldProblem,
    TransientFault,
    ValidationFailed,
    VidgateError,
)

__all__ = ["RunwayRoute", "runway_error"]

log = logging.getLogger("vidgate.api.runway")

_NO_RETRY = {"x-should-retry": "false"}


def _body(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str],
    fields: Sequence[FieldProblem] = (),
) -> JSONResponse:
    return ErrorResponse(
        {"error": message, "code": code},
        status,
        code=code,
        fields=fields,
        message=message,
        headers=headers,
    )


def _retry_after(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return str(DEFAULT_RETRY_AFTER_SECONDS)
    return str(max(1, math.ceil(seconds)))


def runway_error(exc: Exception, request_id: str | None = None) -> JSONResponse:
    """The Runway-shaped answer to ``exc``."""
    if isinstance(exc, RequestValidationError):
        exc = ValidationFailed(validation_problems(exc.errors()))
    if isinstance(exc, ValidationFailed):  # Runway answers every invalid input with 400
        return _body(400, str(exc), exc.code, dict(_NO_RETRY), exc.problems)
    if isinstance(exc, BudgetExceeded | Conflict):
        return _body(exc.status_code, str(exc), exc.code, dict(_NO_RETRY))
    if isinstance(exc, TransientFault):
        headers = {"Retry-After": _retry_after(exc.retry_after)}
        return _body(exc.status_code, str(exc), exc.code, headers)
    if isinstance(exc, VidgateError) and exc.status_code < 500:
        return _body(exc.status_code, str(exc) or exc.code, exc.code, dict(_NO_RETRY))
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return _body(exc.status_code, detail, "http_error", dict(exc.headers or {}))
    log.error("runway request %s failed: %r", request_id, exc, exc_info=exc)
    suffix = f" (request {request_id})" if request_id else ""
    return _body(
        500, f"internal error; the server log has the details{suffix}", "internal_error", {}
    )


RunwayRoute = error_rendering_route(runway_error)
