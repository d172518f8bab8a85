"""Signed public links: URLs anyone may fetch until they expire, because vidgate signed them.

A link names a purpose (``output``, ``upload``), a subject (a job id, an upload slot) and an
expiry in unix seconds; its signature is ``HMAC-SHA256(secret, "purpose:subject:expires")`` in
URL-safe base64. Changing any part, or the secret, breaks it. The secret is
``VIDGATE_LINK_SECRET``, or one made once and kept in ``DATA_DIR/link-secret`` (mode 0600), so
links outlive a restart.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from vidgate.settings import Settings

__all__ = ["LinkSigner", "load_link_secret"]

_SECRET_FILE = "link-secret"


def load_link_secret(settings: Settings) -> bytes:
    """The link secret: the setting, else the one kept in the data directory (made if absent)."""
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value().encode()
    path = settings.data_dir / _SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: of two processes starting at once, one writes and both read the same
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return _read(path)


def _read(path: Path) -> bytes:
    value = path.read_text().strip().encode()
    if not value:  # another process is still writing it
        time.sleep(0.05)
        value = path.read_text().strip().encode()
    return value


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
