"""API keys: made, listed, revoked, and checked on every request.

A token is ``vg_`` + 43 URL-safe characters (256 random bits). Only its sha256 is stored: a token
this random needs neither salt nor a slow hash, and one indexed lookup checks it. The token is shown
once, when made (``vidgate keys create``); a lost token is revoked and replaced, never recovered.

Every request checks its key, so answers are kept for :data:`CACHE_SECONDS` (a database read
per request cost about a third of the API's throughput): a key made or revoked by this process
counts at once, one made or revoked by another process (``vidgate keys revoke`` on the command
line, another API process) within that second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.clock import utcnow
from vidgate.db.cache import ReadThrough
from vidgate.db.engine import Transactions
from vidgate.errors import NotFound, ValidationFailed
from vidgate.tenancy.tables import ApiKey, KeyRole

__all__ = [
    "CACHE_SECONDS",
    "NAME_MAX_CHARS",
    "TOKEN_PREFIX",
    "CreatedKey",
    "KeyStore",
    "hash_token",
]

TOKEN_PREFIX = "vg_"
_SHOWN_CHARS = 8  # of the token, kept to tell keys apart in listings
#: The longest name a key may have.
NAME_MAX_CHARS = 200
#: How long an answer about keys is trusted without asking the database again.
CACHE_SECONDS = 1.0
_CACHED_KEYS_MAX = 4096


class CreatedKey(NamedTuple):
    """A new key and its token; the only time the token exists outside the caller's hands."""

    key: ApiKey
    token: str


def hash_token(token: str) -> str:
    """sha256 (hex) of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyStore:
    """The ``api_keys`` table."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], float] = time.monotonic) -> None:
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing
        self._active_count: ReadThrough[None, int] = ReadThrough(CACHE_SECONDS, clock=clock)
        self._keys_by_digest: ReadThrough[str, ApiKey | None] = ReadThrough(
            CACHE_SECONDS, clock=clock, max_entries=_CACHED_KEYS_MAX
        )

    def _forget(self) -> None:
        """Drop every cached answer: this process changed the keys."""
        self._active_count.clear()
        self._keys_by_digest.clear()

    async def create_key(
        self, name: str, *, role: KeyRole = KeyRole.USER, now: datetime | None = None
    ) -> CreatedKey:
        """Make a key named ``name`` with ``role``; the returned token is not stored anywhere."""
        name = name.strip()
        if not name or len(name) > NAME_MAX_CHARS:
            raise ValidationFailed.single("name", f"must be 1 to {NAME_MAX_CHARS} characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id="ak_" + secrets.token_hex(8),
            name=name,
            token_sha256=hash_token(token),
            prefix=token[:_SHOWN_CHARS],
            created_at=now or utcnow(),
            revoked_at=None,
            role=role,
        )
        async with self._writing() as session:
            session.add(key)
        self._forget()
        return CreatedKey(key, token)

    async def list_keys(self, *, include_revoked: bool = True) -> list[ApiKey]:
        """Every key, oldest first."""
        stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        async with self._reading() as session:
            return list(await session.scalars(stmt))

    async def revoke_key(self, key_id: str, *, now: datetime | None = None) -> ApiKey:
        """Revoke ``key_id``; its next request to this process is refused (other processes: within
        :data:`CACHE_SECONDS`). Revoking twice is harmless."""
        async with self._writing() as session:
            key = await session.get(ApiKey, key_id)
            if key is None:
                raise NotFound(f"no API key {key_id}")
            if key.revoked_at is None:
                await session.execute(
                    update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=now or utcnow())
                )
                await session.refresh(key)
        self._forget()
        return key

    async def set_role(self, key_id: str, role: KeyRole) -> ApiKey:
        """Give ``key_id`` the role ``role``; its next request to this process has it (other
        processes: within :data:`CACHE_SECONDS`)."""
        async with self._writing() as session:
            key = await session.get(ApiKey, key_id)
            if key is None:
                raise NotFound(f"no API key {key_id}")
            if key.role is not role:
                await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(role=role))
                await session.refresh(key)
        self._forget()
        return key

    async def authenticate(self, token: str) -> ApiKey | None:
        """The active key whose token this is, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        digest = hash_token(token)
        return await self._keys_by_digest.get(digest, lambda: self._read_key(digest))

    async def _read_key(self, digest: str) -> ApiKey | None:
        async with self._reading() as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.token_sha256 == digest))
        # The lookup is by hash, so timing says nothing about the token; compare anyway.
        if key is None or not hmac.compare_digest(key.token_sha256, digest):
            return None
        return key if key.revoked_at is None else None

    async def count_active(self) -> int:
        """How many keys are not revoked; zero means the server runs without auth."""
        return await self._active_count.get(None, self._read_active_count)

    async def _read_active_count(self) -> int:
        stmt = select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
        async with self._reading() as session:
            return int(await session.scalar(stmt) or 0)
