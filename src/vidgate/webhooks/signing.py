"""Signing and verifying webhook requests to the Standard Webhooks spec (standardwebhooks.com).

Every delivery carries three headers:

* ``webhook-id``: the delivery's id (``whd_...``), the same on every attempt and redelivery, so
  receivers dedupe on it;
* ``webhook-timestamp``: unix seconds when the attempt was signed;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over ``f"{id}.{timestamp}.{body}"``, the key
  being the base64 part of the ``whsec_...`` secret. Several signatures are separated by spaces.

Signing is done by the ``standardwebhooks`` package itself, so any stock receiver library
(Standard Webhooks, Svix, OpenAI's and Replicate's helpers) verifies vidgate's deliveries.
:func:`verify_webhook` is vidgate's own receiver helper: the package's check, with bounded headers
and vidgate's error.
A secret that is not base64 after its prefix (one set by hand) is used as its UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

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
#: How far a signature's timestamp may be from the receiver's clock (the spec's five minutes,
#: which the ``standardwebhooks`` package applies).
DEFAULT_TOLERANCE_SECONDS = 300
_SCHEME = "v1"
_HEADERS = (DELIVERY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
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


def verify_webhook(secret: str | Iterable[str], headers: Mapping[str, str], body: bytes) -> int:
    """Check a webhook request; return its timestamp, or raise :class:`WebhookSignatureInvalid`.

    ``headers`` are the request's headers (any case); ``body`` is the raw body exactly as
    received. ``secret`` may be several secrets (old and new, while rotating). The check itself is
    the ``standardwebhooks`` package's (a timestamp more than the spec's five minutes from now is
    a replay); this wrapper bounds the headers first and names what was wrong.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in _HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookSignatureInvalid(f"no {', '.join(missing)} header")
    header = lowered[SIGNATURE_HEADER]
    if len(header) > _MAX_HEADER_CHARS or len(lowered[DELIVERY_HEADER]) > 256:
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header is too long")
    stamp = lowered[TIMESTAMP_HEADER]
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise WebhookSignatureInvalid(f"the {TIMESTAMP_HEADER} header is not unix seconds")
    schemes = [item.partition(",") for item in header.split(" ")]
    if any(not sep or not value for _, sep, value in schemes):
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header is malformed")
    if all(scheme != _SCHEME for scheme, _, _ in schemes):
        raise WebhookSignatureInvalid(f"the {SIGNATURE_HEADER} header has no {_SCHEME} signature")
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ValueError("verify_webhook needs at least one secret")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookSignatureInvalid("the body is not UTF-8") from None
    reason = "the signature does not match the body"
    for key in keys:
        try:
            _signer(key).verify(text, lowered, json_parse=False)
        except WebhookVerificationError as exc:
            if "timestamp" in str(exc):
                reason = (
                    f"the signature's timestamp is outside the tolerance "
                    f"({DEFAULT_TOLERANCE_SECONDS} s from now)"
                )
        except (binascii.Error, ValueError):  # a signature that is not base64
            pass
        else:
            return int(stamp)
    raise WebhookSignatureInvalid(reason)
