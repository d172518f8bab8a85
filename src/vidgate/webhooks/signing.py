"""Signing and verifying webhook requests to the Standard Webhooks spec (standardwebhooks.com).

Every delivery carries three headers:

* ``webhook-id``: the delivery's id (``whd_...``), the same on every attempt and redelivery, so
  receivers dedupe on it;
* ``webhook-timestamp``: unix seconds when the attempt was signed;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over ``f"{id}.{timestamp}.{body}"``, the key
  being the base64 part of the ``whsec_...`` secret. Several signatures are separated by spaces.

Signing is done by the ``standardwebhooks`` package itself, so any stock receiver library
(Standard Webhooks, Svix, OpenAI's and Replicate's helpers) verifies vidgate's deliveries.
:func:`verify_webhook` is vidgate's own receiver helper, the same check with vidgate's error.
A secret that is not base64 after its prefix (one set by hand) is used as its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from vidgate.errors import WebhookSignatureInvalid

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "new_webhook_secret",
    "sign_webhook",
    "verify_webhook",
    "webhook_headers",
]

#: The delivery's id (the spec's message id).
DELIVERY_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
#: The event type, e.g. ``generation.succeeded`` (also in the body); vidgate's own addition.
EVENT_HEADER = "Vidgate-Event"
SECRET_PREFIX = "whsec_"
#: How far a signature's timestamp may be from the receiver's clock (the spec's five minutes).
DEFAULT_TOLERANCE_SECONDS = 300
_SCHEME = "v1"
_MAX_HEADER_CHARS = 4096


def new_webhook_secret() -> str:
    """A fresh signing secret: ``whsec_`` + the base64 of 32 random bytes (the spec's form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _signer(secret: str) -> Webhook:
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError):
        return Webhook(secret.encode("utf-8"))


def sign_webhook(secret: str, delivery_id: str, body: bytes, *, timestamp: int) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for ``body`` sent at ``timestamp``."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return _signer(secret).sign(delivery_id, moment, body.decode("utf-8"))


def webhook_headers(
    secret: str, delivery_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (``timestamp`` default: now)."""
    t = int(time.time()) if timestamp is None else timestamp
    return {
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(t),
        SIGNATURE_HEADER: sign_webhook(secret, delivery_id, body, timestamp=t),
    }


def verify_webhook(
    secret: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a webhook request; return its timestamp, or raise :class:`WebhookSignatureInvalid`.

    ``headers`` are the request's headers (any case); ``body`` is the raw body exactly as
    received. ``secret`` may be several secrets (old and new, while rotating). A timestamp more
    than ``tolerance_seconds`` from ``now`` is refused (replays).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    delivery_id = lowered.get(DELIVERY_HEADER)
    stamp = lowered.get(TIMESTAMP_HEADER)
    header = lowered.get(SIGNATURE_HEADER)
    if not delivery_id or not stamp or not header:
        missing = [
            name
            for name, value in (
                (DELIVERY_HEADER, delivery_id),
                (TIMESTAMP_HEADER, stamp),
                (SIGNATURE_HEADER, header),
            )
            if not value
        ]
        raise WebhookSignatureInvalid(f"no {', '.join(missing)} header")
    if len(header) > _MAX_HEADER_CHARS or len(delivery_id) > 256:
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header is too long")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise WebhookSignatureInvalid(f"the {TIMESTAMP_HEADER} header is not unix seconds")
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookSignatureInvalid(
            f"the signature's timestamp is {current - timestamp:+.0f} s from now "
            f"(tolerance {tolerance_seconds:g} s)"
        )
    offered = []
    for item in header.split(" "):
        scheme, sep, value = item.partition(",")
        if not sep:
            raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header is malformed")
        if scheme == _SCHEME:
            offered.append(value)
    if not offered:
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header has no {_SCHEME} signature")
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ValueError("verify_webhook needs at least one secret")
    try:
        expected = [
            sign_webhook(key, delivery_id, body, timestamp=timestamp).partition(",")[2]
            for key in keys
        ]
    except UnicodeDecodeError:
        raise WebhookSignatureInvalid("the body is not UTF-8") from None
    # compare_digest on every pair: the time taken says nothing about which part matched.
    matched = False
    for signature in offered:
        for digest in expected:
            matched |= secrets.compare_digest(signature.encode(), digest.encode())
    if not matched:
        raise WebhookSignatureInvalid("the signature does not match the body")
    return timestamp
