"""Every log line goes through one redaction: signed and token-like query values, vidgate's own
secrets and the Runway secret never reach the log, in either format, tracebacks included."""

from __future__ import annotations

import io
import json
import logging

import pytest

from vidgate.api.logging import REDACTED, configure_logging, redact
from vidgate.settings import load_settings

LINK = "https://vidgate.test/files/j.mp4?expires=1797292800&signature=Zm9vYmFyYmF6cXV4"
S3 = (
    "https://bucket.s3.amazonaws.com/o.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok"
)
CLOUDFRONT = "https://d.cloudfront.net/o.mp4?Expires=1&Signature=s1g~&Key-Pair-Id=K2&Policy=eyJ"


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        (LINK, ["expires=1797292800", "signature" + REDACTED], ["Zm9vYmFy", "signature="]),
        (S3, ["X-Amz-Algorithm=AWS4-HMAC-SHA256"], ["AKIA", "abcdef0123", "=tok"]),
        (CLOUDFRONT, ["Expires=1", "Key-Pair-Id=K2"], ["s1g~", "eyJ"]),
        ("/x?access_token=t0k&api_key=k3y&sig=5ig&page=2", ["page=2"], ["t0k", "k3y", "5ig"]),
        ("whsec_" + "A" * 44 + " vg_" + "b" * 43, ["whsec_" + REDACTED], ["AAAA", "bbbb"]),
        ('{"path": "/f?signature=abc"}', ['signature[redacted]"}'], ["abc"]),
        ("a = b, c=d", ["a = b, c=d"], []),
    ],
)
def test_redact(text: str, kept: list[str], gone: list[str]) -> None:
    shown = redact(text)
    assert all(k in shown for k in kept), shown
    assert not [g for g in gone if g in shown], shown


@pytest.mark.parametrize("log_format", ["human", "json"])
def test_every_line_is_redacted_tracebacks_included(log_format: str) -> None:
    stream = io.StringIO()
    settings = load_settings(log_format=log_format, RUNWAYML_API_SECRET="key_" + "9" * 60)
    handler = configure_logging(settings, stream=stream)
    log = logging.getLogger("vidgate.test")
    try:
        log.warning("job j1 failed: could not download %s", S3)
        try:
            raise RuntimeError(f"GET {LINK} with key_{'9' * 60}")
        except RuntimeError:
            log.exception("step failed")
    finally:
        for name in ("vidgate", "uvicorn"):
            logging.getLogger(name).removeHandler(handler)
    output = stream.getvalue()
    assert "abcdef0123" not in output and "Zm9vYmFy" not in output and "signature=" not in output
    assert "9" * 60 not in output
    assert output.lower().count("signature" + REDACTED) >= 2  # the message and the traceback
    if log_format == "json":
        assert [json.loads(line)["level"] for line in output.splitlines()] == ["warning", "error"]
