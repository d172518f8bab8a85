"""Which error shape a path answers in: Runway's under ``/runway``, OpenAI's under ``/openai``,
vidgate's envelope everywhere else. For errors raised before any route runs (the body guard)."""

from __future__ import annotations

from fastapi import Response

from vidgate.api.errors import vidgate_error_response
from vidgate.api.routes.openai.errors import openai_error
from vidgate.api.routes.runway.errors import runway_error
from vidgate.errors import VidgateError

__all__ = ["error_response_for"]


def error_response_for(path: str, exc: VidgateError) -> Response:
    """The answer to ``exc`` in the shape the SDK calling ``path`` expects."""
    if path.startswith("/runway/"):
        return runway_error(exc)
    if path.startswith("/openai/"):
        return openai_error(exc)
    return vidgate_error_response(exc)
