"""vidgate.client's pure parts: reading SSE lines, and error answers as vidgate's exceptions."""

from __future__ import annotations

import httpx
import pytest

from vidgate.client import error_from_response, parse_sse
from vidgate.errors import (
    FieldProblem,
    InternalError,
    MediaRejected,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)


def test_sse_messages_are_split_on_blank_lines_and_comments_dropped() -> None:
    lines = [
        "retry: 2000",
        "",
        ": keep-alive",
        "",
        "id: 7",
        "event: progress",
        'data: {"a":',
        "data: 1}",
        "",
        "event: end",
        "data:{}",
        "",
        "data: unfinished",
    ]
    assert list(parse_sse(iter(lines))) == [
        (None, "message", "", 2000),
        ("7", "progress", '{"a":\n1}', None),
        (None, "end", "{}", None),
    ]


def envelope(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_a_422_lists_every_field() -> None:
    fields = [{"path": "ratio", "message": "bad"}, {"path": "duration", "message": "too long"}]
    exc = error_from_response(
        envelope(422, {"error": {"code": "validation_failed", "message": "m", "fields": fields}})
    )
    assert type(exc) is ValidationFailed
    assert exc.problems == [FieldProblem("ratio", "bad"), FieldProblem("duration", "too long")]
    media = error_from_response(
        envelope(422, {"error": {"code": "media_rejected", "message": "m", "fields": fields[:1]}})
    )
    assert type(media) is MediaRejected


@pytest.mark.parametrize(
    ("status", "kind"), [(401, Unauthorized), (404, NotFound), (500, InternalError)]
)
def test_other_answers_keep_their_message(status: int, kind: type[Exception]) -> None:
    exc = error_from_response(envelope(status, {"error": {"code": "x", "message": "why"}}))
    assert type(exc) is kind and str(exc) == "why"


def test_a_429_carries_retry_after_and_odd_bodies_still_make_an_error() -> None:
    body = {"error": {"code": "rate_limited", "message": "slow"}}
    limited = error_from_response(httpx.Response(429, json=body, headers={"Retry-After": "3"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 3.0
    odd = error_from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert "bad gateway" in str(odd)
