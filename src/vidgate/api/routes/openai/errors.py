"""Errors in OpenAI's shape, so the ``openai`` SDKs raise their own class for each.

``{"error": {"message", "type", "param", "code"}}``: vidgate's 422 becomes OpenAI's 400
(``BadRequestError``, ``param`` the first bad field, ``message`` every one), 401
``AuthenticationError``, 404 ``NotFoundError``, 409 ``ConflictError``, 429 ``RateLimitError``
with ``Retry-After``, 5xx ``InternalServerError``; a budget refusal is 402 (``insufficient_quota``).
Answers a retry cannot change carry ``x-should-retry: false`` (the SDKs retry 409 and 429).
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
    FieldProblem,
    TransientFault,
    ValidationFailed,
    VidgateError,
)

__all__ = ["OpenAIRoute", "openai_error"]

log = logging.getLogger("vidgate.api.openai")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def _answer(
    status: int,
    message: str,
    code: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    fields: Sequence[FieldProblem] = (),
) -> JSONResponse:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return ErrorResponse(body, status, code=code, fields=fields, message=message, headers=headers)


def openai_error(exc: Exception, request_id: str | None = None) -> JSONResponse:
    """The OpenAI-shaped answer to ``exc``."""
    if isinstance(exc, RequestValidationError):
        exc = ValidationFailed(validation_problems(exc.errors()))
    no_retry = {"x-should-retry": "false"}
    if isinstance(exc, ValidationFailed):
        param = exc.problems[0].path or None
        return _answer(400, str(exc), exc.code, param=param, headers=no_retry, fields=exc.problems)
    if isinstance(exc, TransientFault):
        seconds = exc.retry_after
        wait = DEFAULT_RETRY_AFTER_SECONDS
        if seconds is not None and math.isfinite(seconds) and seconds > 0:
            wait = max(1, math.ceil(seconds))
        return _answer(exc.status_code, str(exc), exc.code, headers={"Retry-After": str(wait)})
    if isinstance(exc, BudgetExceeded):
        return _answer(402, str(exc), "insufficient_quota", headers=no_retry)
    if isinstance(exc, VidgateError) and exc.status_code < 500:
        return _answer(exc.status_code, str(exc) or exc.code, exc.code, headers=no_retry)
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return _answer(exc.status_code, detail, "http_error", headers=dict(exc.headers or {}))
    log.error("openai request %s failed: %r", request_id, exc, exc_info=exc)
    suffix = f" (request {request_id})" if request_id else ""
    return _answer(500, f"internal error; the server log has the details{suffix}", "internal_error")


OpenAIRoute = error_rendering_route(openai_error)
