"""Signing and verifying webhook requests: HMAC-SHA256 over a timestamp and the raw body.

The ``Vidgate-Signature`` header reads ``t=<unix seconds>,v1=<hex digest>`` where the digest is
``HMAC-SHA256(key=secret, message=f"{t}.".encode() + body)`` and ``secret`` is the whole
``whsec_...`` string as UTF-8. The timestamp is inside the signed message, so an old request
replayed later fails the tolerance check; ``v1`` names the scheme so another can be added beside
it without breaking receivers. A receiver may see several ``v1=`` entries (one per secret while a
secret is being rotated); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

from vidgate.errors import WebhookSignatureInvalid

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "new_webhook_secret",
    "sign_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER = "Vidgate-Signature"
#: The delivery's id: the same on every attempt and redelivery, so receivers dedupe on it.
DELIVERY_HEADER = "Vidgate-Delivery"
#: The event type, e.g. ``generation.succeeded`` (also in the body).
EVENT_HEADER = "Vidgate-Event"
SECRET_PREFIX = "whsec_"
#: How far a signature's timestamp may be from the receiver's clock.
DEFAULT_TOLERANCE_SECONDS = 300
_SCHEME = "v1"
_MAX_HEADER_CHARS = 4096


def new_webhook_secret() -> str:
    """A fresh signing secret: ``whsec_`` + 43 URL-safe characters (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_webhook(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``Vidgate-Signature`` header value for ``body`` sent at ``timestamp`` (default: now)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},{_SCHEME}={_digest(secret, t, body)}"


def verify_webhook(
    secret: str | Iterable[str],
    header: str | None,
    body: bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a webhook request; return its timestamp, or raise :class:`WebhookSignatureInvalid`.

    ``body`` is the raw request body exactly as received (before any JSON parsing); ``header`` is
    the ``Vidgate-Signature`` header. ``secret`` may be several secrets (old and new, while
    rotating). A timestamp more than ``tolerance_seconds`` from ``now`` is refused (replays).
    """
    if not header:
        raise WebhookSignatureInvalid(f"no {SIGNATURE_HEADER} header")
    if len(header) > _MAX_HEADER_CHARS:
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header is too long")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header is malformed")
        if key == "t":
            timestamps.append(value)
        elif key == _SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()):
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header has no single timestamp")
    if not signatures:
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header has no {_SCHEME} signature")
    timestamp = int(timestamps[0])
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookSignatureInvalid(
            f"the signature's timestamp is {current - timestamp:+.0f} s from now "
            f"(tolerance {tolerance_seconds:g} s)"
        )
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ValueError("verify_webhook needs at least one secret")
    expected = [_digest(key, timestamp, body) for key in keys]
    # compare_digest on every pair: the time taken says nothing about which part matched.
    matched = False
    for signature in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(signature.encode(), digest.encode())
    if not matched:
        raise WebhookSignatureInvalid("the signature does not match the body")
    return timestamp
