"""The log of a vidgate process, for an operator: one line per event, human or JSON.

:func:`configure_logging` puts one handler on the ``vidgate`` and ``uvicorn`` loggers (``vidgate
serve`` and ``vidgate worker`` call it first thing). What reaches it:

- **job transitions**, one line each, from the job store (logger ``vidgate.jobs``, the job in
  ``extra={"job": ...}``): id, model, status (and the one before), reason, failure code, seconds
  since the job was created and since it was submitted, credits (cost, else the estimate);
  failures at WARNING;
- the **access log** (:class:`AccessLog`, logger ``vidgate.access``): client, method, path,
  status, milliseconds to the response's start (uvicorn's own access log is off: the emulator
  embedded in the same process shares uvicorn's loggers); an answer of 400 or more also carries
  its error code and, for a 422 (or a surface's 400 for invalid input), the bad fields' paths,
  which the error renderer leaves on the request's scope (:func:`note_refusal`);
- start-up and shutdown lines, provider and webhook trouble, errors with their traceback.

``VIDGATE_LOG_FORMAT=human`` (the default) writes ``time level logger message`` lines;
``json`` writes one JSON object per line with the same facts as fields. Whatever the format, every
line goes through :func:`redact` last, tracebacks included: the Runway secret becomes
``[redacted]``, and so does the value of every signed or token-like URL query parameter
(``signature``, ``X-Amz-Signature``, ``token``, ``key``...), written ``signature[redacted]`` (no
``=``, so a search for ``signature=`` finds nothing), and any ``whsec_`` or ``vg_`` secret: a log
can be shared without handing out a working link.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import IO, Any, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidgate.jobs.models import Job
from vidgate.settings import Settings

__all__ = [
    "REDACTED",
    "REFUSAL_SCOPE_KEY",
    "AccessLog",
    "Refusal",
    "configure_logging",
    "job_fields",
    "note_refusal",
    "redact",
]

REDACTED = "[redacted]"
#: Where an error answer leaves its :class:`Refusal` in the ASGI scope, for the access log.
REFUSAL_SCOPE_KEY = "vidgate.refusal"
# A query parameter whose value opens something: a signature, a token, a key, a credential.
_QUERY_PARAM = re.compile(r"(?P<lead>[?&;])(?P<name>[\w.-]{1,64})=(?P<value>[^&\s\"'#<>\\]*)")
_SIGNED_NAMES = ("signature", "token", "secret", "credential", "password", "apikey", "api_key")
_SIGNED_EXACT = frozenset({"sig", "key", "auth", "policy", "code"})
_OWN_SECRET = re.compile(r"(?P<name>whsec_|vg_)[A-Za-z0-9+/=_-]{40,}")
_LOGGERS = ("vidgate", "uvicorn", "uvicorn.error")
_access = logging.getLogger("vidgate.access")
_HANDLER_NAME = "vidgate-log"


def job_fields(job: Job, previous: str | None = None) -> dict[str, Any]:
    """What a transition line says about ``job`` (None values left out)."""
    created = _aware(job.created_at)
    at = _aware(job.updated_at) or created
    submitted = _aware(job.submitted_at)
    fields: dict[str, Any] = {
        "job_id": job.id,
        "model": job.model,
        "status": job.status.value,
        "previous": previous,
        "reason": job.status_reason,
        "failure_code": job.failure_code,
        "seconds_since_created": _seconds(created, at),
        "seconds_since_submitted": _seconds(submitted, at),
        "cost_credits": job.cost_credits,
        "estimated_credits": None if job.cost_credits is not None else job.estimated_credits,
        "attempt": job.attempt if job.attempt > 1 else None,
        "parent_id": job.parent_id,
    }
    return {k: v for k, v in fields.items() if v is not None}


class Refusal(NamedTuple):
    """What an error answer refused, as the access log tells it."""

    code: str
    #: The bad fields' paths (a 422's, or a surface's 400 for invalid input); () for others.
    fields: tuple[str, ...] = ()
    message: str = ""


def note_refusal(scope: MutableMapping[str, Any], refusal: Refusal) -> None:
    """Leave ``refusal`` where the access log reads it (the error renderer calls this)."""
    scope[REFUSAL_SCOPE_KEY] = refusal


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with ``secrets``, signed or token-like query values and vidgate's own secrets cut
    out: what every log line goes through."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    if "?" in text:  # a query: every parameter after one is looked at
        text = _QUERY_PARAM.sub(_redacted_param, text)
    if "whsec_" in text or "vg_" in text:
        text = _OWN_SECRET.sub(rf"\g<name>{REDACTED}", text)
    return text


def _redacted_param(found: re.Match[str]) -> str:
    name = found["name"].lower()
    if name in _SIGNED_EXACT or any(word in name for word in _SIGNED_NAMES):
        return f"{found['lead']}{found['name']}{REDACTED}"
    return found.group()


class _Formatter(logging.Formatter):
    def __init__(self, *, as_json: bool, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._json = as_json
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        fields = _record_fields(record)
        if self._json:
            line = json.dumps(fields, default=str, ensure_ascii=False)
        else:
            line = _human(record, fields)
            if record.exc_info:
                line += "\n" + self.formatException(record.exc_info)
        return redact(line, self._secrets)


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    when = datetime.fromtimestamp(record.created, UTC)
    fields: dict[str, Any] = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    job = getattr(record, "job", None)
    if isinstance(job, Job):
        fields["event"] = "job"
        fields.update(job_fields(job, getattr(record, "previous", None)))
    access = getattr(record, "access", None)
    if isinstance(access, dict):
        fields["event"] = "access"
        fields.update(access)
    fields["message"] = record.getMessage()
    if record.exc_info and record.exc_info[0] is not None:
        fields["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
    return fields


def _human(record: logging.LogRecord, fields: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    head = f"{when} {record.levelname:<7} {record.name}"
    if fields.get("event") == "job":
        return f"{head} {_job_line(fields)}"
    if fields.get("event") == "access":
        line = (
            f"{head} {fields['client']} {fields['method']} {fields['path']} "
            f"{fields['status']} {fields['ms']:.0f} ms"
        )
        if "error_code" in fields:
            line += f" {fields['error_code']}"
        if fields.get("error_fields"):
            line += f" ({', '.join(fields['error_fields'])})"
        return line
    return f"{head} {fields['message']}"


def _job_line(f: dict[str, Any]) -> str:
    parts = [f"job {f['job_id']} {f['model']} {f['status']}"]
    if "previous" in f:
        parts[0] += f" (was {f['previous']})"
    if "reason" in f:
        parts.append(f["reason"])
    if "failure_code" in f:
        parts.append(f"code {f['failure_code']}")
    if "attempt" in f:
        parts.append(f"attempt {f['attempt']}")
    timing = f"{f['seconds_since_created']:.2f} s since created"
    if "seconds_since_submitted" in f:
        timing += f", {f['seconds_since_submitted']:.2f} s since submitted"
    parts.append(timing)
    if "cost_credits" in f:
        parts.append(f"cost {f['cost_credits']:g} credits")
    elif "estimated_credits" in f:
        parts.append(f"est. {f['estimated_credits']:g} credits")
    if "parent_id" in f:
        parts.append(f"chain {f['parent_id']}")
    return ": ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if parts[1:] else "")


class AccessLog:
    """One ``vidgate.access`` line per HTTP request: client, method, path, status, time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        answered = False

        async def recorded(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                _line(scope, int(message["status"]), began)
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        except BaseException:
            if not answered:
                _line(scope, 500, began)  # what the client sees of a failure before any answer
            raise


def _line(scope: Scope, status: int, began: float) -> None:
    client = scope.get("client")
    path = scope.get("path", "")
    query = scope.get("query_string", b"")
    fields = {
        "client": f"{client[0]}:{client[1]}" if client else "-",
        "method": scope.get("method", ""),
        "path": path + ("?" + query.decode("latin-1") if query else ""),
        "status": status,
        "ms": round((time.perf_counter() - began) * 1000, 1),
    }
    if status >= 400:
        refusal = scope.get(REFUSAL_SCOPE_KEY)
        if isinstance(refusal, Refusal):
            fields["error_code"] = refusal.code
            if refusal.fields:
                fields["error_fields"] = list(refusal.fields)
    _access.info("%s %s %s", fields["method"], fields["path"], status, extra={"access": fields})


def configure_logging(settings: Settings, *, stream: IO[str] | None = None) -> logging.Handler:
    """One handler for vidgate's and uvicorn's loggers, in the format ``settings`` name."""
    secret = settings.runway_api_secret.get_secret_value() if settings.runway_api_secret else ""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.name = _HANDLER_NAME
    handler.setFormatter(_Formatter(as_json=settings.log_format == "json", secrets=(secret,)))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.name != _HANDLER_NAME]
        if name in ("vidgate", "uvicorn"):
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        else:
            logger.handlers.clear()  # uvicorn's own handlers would print each line twice
            logger.propagate = True
    return handler


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)
