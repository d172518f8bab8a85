"""Signed webhooks: a job's end, POSTed to its owner's URL until delivered (docs/webhooks.md).

Deliveries follow the Standard Webhooks spec, so stock libraries verify them; for receivers
written with vidgate installed, :func:`verify_webhook` is the one thing to import::

    from vidgate.webhooks import verify_webhook, WebhookSignatureInvalid

Inside vidgate: ``signing`` (the header format), ``schedule`` (retries), ``models`` and ``store``
(durable deliveries), ``sealing`` (signing secrets encrypted at rest), ``policy`` (which URLs are
accepted), ``dispatcher`` (the sending loop).
Only ``signing`` is imported here, so a receiver pulls in nothing else.
"""

from vidgate.errors import WebhookSignatureInvalid
from vidgate.webhooks.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
    verify_webhook,
    webhook_headers,
)

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookSignatureInvalid",
    "sign_webhook",
    "verify_webhook",
    "webhook_headers",
]
