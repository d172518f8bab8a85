"""The tables of what a tenant (an API key) owns besides jobs: the keys, uploads and budgets.

Declared on the job store's :class:`~vidgate.jobs.models.Base`, so one metadata describes the whole
schema; migrations ``0002_keys_uploads`` and ``0004_budgets`` create them (``0009_key_roles``
adds the keys' role). Rows are detached
snapshots, as for jobs.

``owner`` columns hold the owning key's id, or :data:`~vidgate.jobs.models.NO_OWNER` when the
server runs without keys.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vidgate.db.base import Base
from vidgate.jobs.models import NO_OWNER

__all__ = ["ApiKey", "Budget", "KeyRole", "Upload"]


class KeyRole(StrEnum):
    """What an API key may do; the value is what the database and the API carry."""

    #: Makes and reads its own jobs, uploads and usage.
    USER = "user"
    #: Also the operator's console and ``/v1/admin``: every key, budget and job.
    ADMIN = "admin"


class ApiKey(Base):
    """One API key: its name and the sha256 of its token (the token itself is never stored)."""

    __tablename__ = "api_keys"

    #: ``ak_`` + 16 hex digits; what ``jobs.owner`` and ``uploads.owner`` hold.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: sha256 (hex) of the whole token; the token has 256 random bits, so no salt or slow hash.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters, to tell keys apart in listings.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    #: Migration 0010; keys made before it are ``user`` keys.
    role: Mapped[KeyRole] = mapped_column(
        Enum(
            KeyRole,
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        default=KeyRole.USER,
        server_default=KeyRole.USER.value,
    )

    def __repr__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"<ApiKey {self.id} {self.name!r} {self.role.value} {state}>"


class Upload(Base):
    """A file a tenant gave vidgate (``POST /v1/uploads``, or a URL fetched in ingest mode)."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), default=NO_OWNER)
    #: The provider's ``runway://`` URI, usable in media fields until ``expires_at``.
    uri: Mapped[str] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(255))
    #: ``image``, ``video`` or ``audio``, as probed from the bytes.
    kind: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    #: The URL vidgate fetched this from (ingest mode); None for a direct upload.
    source_url: Mapped[str | None] = mapped_column(Text)
    #: The Idempotency-Key of the generation request that ingested it, so a retry reuses it.
    request_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index(None, "owner", "id"), Index(None, "uri"))

    def __repr__(self) -> str:
        return f"<Upload {self.id} {self.kind} {self.bytes} bytes>"


class Budget(Base):
    """The credits one API key may spend per UTC day and per UTC month (None: no limit).

    Nothing is stored per job: what a key has spent and reserved is summed from its jobs (see
    :mod:`vidgate.tenancy.budgets`), so a crash can never leave a reservation behind.
    """

    __tablename__ = "budgets"

    key_id: Mapped[str] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    daily_credits: Mapped[float | None] = mapped_column(Float)
    monthly_credits: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<Budget {self.key_id} day={self.daily_credits} month={self.monthly_credits}>"
