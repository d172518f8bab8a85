"""Webhook signing secrets sealed at rest, with a key kept apart from the database.

Signing needs the secret itself (a hash would not do), so the ``webhook_targets.secret`` column
holds it encrypted: ``sealed:v1:`` + a Fernet token (AES-128-CBC and HMAC-SHA256, from
``cryptography``). The key is ``VIDGATE_SECRETS_KEY`` or, unset, one made once and kept in
``DATA_DIR/secrets-key`` (0600) beside ``link-secret``; a copy of the database alone opens
nothing, so it forges no webhook.

Several keys may be given, comma separated: the first seals, every one opens. At start-up
(:func:`seal_stored_secrets`, run by ``vidgate serve`` and ``vidgate worker``) every stored secret
is brought to the first key: one kept in plaintext by a vidgate from before sealing is sealed, one
sealed with a later key in the list is sealed again. A secret no given key opens is reported
then, and each delivery that needs it fails saying so, until the right key is given or a new
secret made (``POST /v1/webhook/secret``).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.db.engine import Transactions
from vidgate.errors import ConfigurationError
from vidgate.settings import Settings, secrets_keys
from vidgate.storage.private import read_or_make_secret
from vidgate.webhooks.models import WebhookTarget

__all__ = [
    "SEALED_PREFIX",
    "SECRETS_KEY_FILE",
    "SealedSecrets",
    "SecretSealer",
    "seal_stored_secrets",
]

#: Marks a sealed value; a value without it is a plaintext secret from before sealing.
SEALED_PREFIX = "sealed:v1:"
SECRETS_KEY_FILE = "secrets-key"
_WRONG_KEY = (
    "a webhook signing secret in the database was sealed with another key than this process's "
    "(VIDGATE_SECRETS_KEY, else DATA_DIR/secrets-key): give every process on the database the "
    "key that sealed it, or make a new secret with POST /v1/webhook/secret"
)


class SecretSealer:
    """Seals and opens stored secrets with one list of keys (the first seals)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a sealer needs at least one key")
        fernets = [Fernet(base64.urlsafe_b64encode(key)) for key in keys]
        self._current = fernets[0]
        self._any = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretSealer:
        """The setting's keys, else the data directory's key file (made on first use)."""
        if settings.secrets_key is not None:
            return cls(secrets_keys(settings.secrets_key.get_secret_value()))
        path = settings.data_dir / SECRETS_KEY_FILE
        text = read_or_make_secret(path, lambda: base64.b64encode(secrets.token_bytes(32)).decode())
        try:
            return cls(secrets_keys(text))
        except ValueError as exc:
            raise ConfigurationError(f"{path}: {exc}") from None

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SEALED_PREFIX)

    def seal(self, secret: str) -> str:
        """The value to store for ``secret``."""
        return SEALED_PREFIX + self._current.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds (a plaintext one from before sealing as it is).

        Raises :class:`~vidgate.errors.ConfigurationError` when no key of this process opens it.
        """
        if not self.is_sealed(stored):
            return stored
        try:
            return self._any.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken:
            raise ConfigurationError(_WRONG_KEY) from None

    def resealed(self, stored: str) -> str | None:
        """The value ``stored`` should become (sealed, with the first key); None when it already
        is. Raises :class:`~vidgate.errors.ConfigurationError` when no key opens it."""
        if not self.is_sealed(stored):
            return self.seal(stored)
        token = stored.removeprefix(SEALED_PREFIX).encode()
        try:
            self._current.decrypt(token)
        except InvalidToken:
            return self.seal(self.open(stored))
        return None


class SealedSecrets(NamedTuple):
    """What :func:`seal_stored_secrets` did."""

    #: Secrets sealed (or sealed again with the first key) by this call.
    sealed: int
    #: Secrets no key of the sealer opens.
    unopened: int


async def seal_stored_secrets(engine: AsyncEngine, sealer: SecretSealer) -> SealedSecrets:
    """Bring every stored secret to the sealer's first key: one in plaintext (kept by a vidgate
    from before sealing) is sealed, one sealed with another of its keys is sealed again.

    The data half of migration 0009 (a migration cannot know the key). Idempotent, and safe
    while other processes do the same: a row changes only if it still holds what was read.
    """
    transactions = Transactions(engine)
    stored_column = WebhookTarget.sealed_secret
    async with transactions.reading() as session:
        rows = (
            await session.execute(
                select(WebhookTarget.owner, stored_column).where(stored_column.is_not(None))
            )
        ).all()
    changes: list[tuple[str, str, str]] = []
    unopened = 0
    for owner, stored in rows:
        if stored is None:  # excluded by the query; this narrows the type
            continue
        try:
            new = sealer.resealed(stored)
        except ConfigurationError:
            unopened += 1
            continue
        if new is not None:
            changes.append((owner, stored, new))
    sealed = 0
    if changes:
        async with transactions.writing() as session:
            for owner, stored, new in changes:
                result = await session.execute(
                    update(WebhookTarget)
                    .where(WebhookTarget.owner == owner, stored_column == stored)
                    .values(sealed_secret=new)
                    .execution_options(synchronize_session=False)
                )
                sealed += result.rowcount  # type: ignore[attr-defined]
    return SealedSecrets(sealed, unopened)
