"""Signed public links: URLs anyone may fetch until they expire, because vidgate signed them.

A link names a purpose (``output``, ``upload``), a subject (a job id, an upload slot) and an
expiry in unix seconds; its signature is ``HMAC-SHA256(secret, "purpose:subject:expires")`` in
URL-safe base64. Changing any part, or the secret, breaks it. The secret is
``VIDGATE_LINK_SECRET``, or one made once and kept in ``DATA_DIR/link-secret`` (mode 0600), so
links outlive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from vidgate.settings import Settings
from vidgate.storage.private import read_or_make_secret

__all__ = ["LinkSigner", "load_link_secret"]

_SECRET_FILE = "link-secret"


def load_link_secret(settings: Settings) -> bytes:
    """The link secret: the setting, else the one kept in the data directory (made if absent)."""
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value().encode()
    return read_or_make_secret(
        settings.data_dir / _SECRET_FILE, lambda: secrets.token_urlsafe(32)
    ).encode()


class LinkSigner:
    """Signs and checks public links with one secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the link secret is empty")
        self._secret = secret

    def signature(self, purpose: str, subject: str, expires: int) -> str:
        message = f"{purpose}:{subject}:{expires}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def valid(
        self, purpose: str, subject: str, expires: int, signature: str, *, now: float | None = None
    ) -> bool:
        """Whether ``signature`` is this signer's for the link, and the link has not expired."""
        current = time.time() if now is None else now
        expected = self.signature(purpose, subject, expires)
        matches = hmac.compare_digest(expected.encode(), signature.encode())
        return matches and expires > current
