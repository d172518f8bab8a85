"""The ASGI middleware that reads request bodies before any route (see :mod:`.json_body`).

A body that pauses longer than ``VIDGATE_BODY_IDLE_TIMEOUT_SECONDS`` is answered 408 and its
connection closed, uploads included (the route's temporary file goes with the error). Any other
body over ``VIDGATE_JSON_BODY_MAX_BYTES`` is refused with 413 (by its ``Content-Length`` before a
byte is read, or as soon as the count passes the cap); a JSON body with problems gets a 422;
anything else is handed on as one message, so memory stays within the cap. Upload bodies are not
read here (the route streams them to disk under its own cap), nor OpenAI's create form, which
streams as an upload's does.

Each body refused for a limit (413, 408), an upload's included, is one WARNING line on
``vidgate.api.limits`` naming the request, the client, the limit and its setting, so an operator
sees which limit to raise (the access line after it carries the status and the error code).
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidgate.api.json_body import json_problems
from vidgate.api.logging import REFUSAL_SCOPE_KEY, Refusal
from vidgate.api.surface_errors import error_response_for
from vidgate.errors import PayloadTooLarge, RequestTimeout, ValidationFailed, VidgateError

__all__ = ["STREAMED_FORMS", "STREAMED_PATHS", "STREAMED_PREFIXES", "BodyGuard"]

#: Routes that stream their own body under their own cap (vidgate's uploads, and the second
#: step of the Runway-compatible upload flow).
STREAMED_PATHS = frozenset({"/v1/uploads"})
STREAMED_PREFIXES = ("/runway/uploads/",)
#: Routes that stream a multipart form (a file and fields) as an upload; other bodies are read here.
STREAMED_FORMS = frozenset({"/openai/v1/videos"})

log = logging.getLogger("vidgate.api.limits")
# The setting behind each refusal a body can meet.
_BODY_SETTING = "VIDGATE_JSON_BODY_MAX_BYTES"
_UPLOAD_SETTING = "VIDGATE_UPLOAD_MAX_BYTES"
_IDLE_SETTING = "VIDGATE_BODY_IDLE_TIMEOUT_SECONDS"


def _streamed(path: str, headers: dict[bytes, bytes]) -> bool:
    if path in STREAMED_FORMS:
        return headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data")
    return path in STREAMED_PATHS or path.startswith(STREAMED_PREFIXES)


def _log_refused(scope: Scope, what: str, reason: str, setting: str) -> None:
    client = scope.get("client")
    peer = f"{client[0]}:{client[1]}" if client else "-"
    log.warning(
        "refused %s of %s %s from %s: %s (%s)",
        what,
        scope.get("method", ""),
        scope.get("path", ""),
        peer,
        reason,
        setting,
    )


async def _refuse(exc: VidgateError, scope: Scope, receive: Receive, send: Send) -> None:
    if isinstance(exc, RequestTimeout | PayloadTooLarge):
        setting = _IDLE_SETTING if isinstance(exc, RequestTimeout) else _BODY_SETTING
        _log_refused(scope, "the body", str(exc), setting)
    # Under /runway and /openai in that surface's shape, so its SDK raises its own class.
    await error_response_for(scope["path"], exc)(scope, receive, send)


def _watched(scope: Scope, send: Send) -> Send:
    """``send`` that logs an upload's refusal for a limit (the route raised it, the renderer left
    its message on the scope)."""

    async def watching(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] in (408, 413):
            refusal = scope.get(REFUSAL_SCOPE_KEY)
            reason = refusal.message if isinstance(refusal, Refusal) else ""
            setting = _IDLE_SETTING if message["status"] == 408 else _UPLOAD_SETTING
            _log_refused(scope, "the upload", reason, setting)
        await send(message)

    return watching


def _bounded(receive: Receive, idle: float) -> Receive:
    """``receive`` with a deadline on each body message until the body is complete."""
    done = False

    async def timed() -> Message:
        nonlocal done
        if done:
            return await receive()  # waiting for a disconnect: no deadline
        try:
            async with asyncio.timeout(idle):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"the request body stopped arriving (nothing for {idle:g} s)"
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            done = True
        return message

    return timed


class BodyGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
        if scope["type"] != "http" or ctx is None:
            await self.app(scope, receive, send)
            return
        settings = ctx.runtime.settings
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        timed = _bounded(receive, settings.body_idle_timeout_seconds)
        if _streamed(scope["path"], headers):
            await self.app(scope, timed, _watched(scope, send))
            return
        cap: int = settings.json_body_max_bytes
        too_large = PayloadTooLarge(f"request bodies may be at most {cap} bytes")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            declared_large = PayloadTooLarge(f"{too_large}; it declared {int(declared)}")
            await _refuse(declared_large, scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                message = await timed()
            except RequestTimeout as exc:
                await _refuse(exc, scope, receive, send)
                return
            if message["type"] != "http.request":
                return  # the client went away: nothing to answer
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > cap:
                await _refuse(too_large, scope, receive, send)
                return
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        # Any type but a form's: the SDK surfaces parse any other body as JSON.
        content_type = headers.get(b"content-type", b"").lower()
        if body and not content_type.startswith(b"multipart/"):
            problems = json_problems(body)
            if problems:
                await _refuse(ValidationFailed(problems), scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
