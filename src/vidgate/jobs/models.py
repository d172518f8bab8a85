"""The job store's tables, as SQLAlchemy 2 typed ORM classes.

Rows come back from :class:`~vidgate.jobs.store.JobStore` as detached snapshots: reading their
attributes is free, changing them does nothing. Every change goes through the store, which
checks the row's ``version`` (compare-and-set) and appends a :class:`JobEvent`.

Times are timezone-aware UTC in Python; SQLite keeps them as naive UTC text, which sorts
correctly because every value is written by :class:`UTCDateTime` in the same format.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vidgate.jobs.status import Status

__all__ = ["NO_OWNER", "Attempt", "Base", "Job", "JobEvent", "UTCDateTime", "new_job_id"]

#: Stored in ``jobs.owner`` when no API key owns the job. Not NULL, so that the unique
#: (owner, idempotency_key) constraint also holds for ownerless jobs (NULLs never collide).
NO_OWNER = ""

# Crockford's base32: no I, L, O, U; sorts in the same order as the numbers it encodes.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_id: tuple[int, int] = (0, 0)


def new_job_id() -> str:
    """A 26-character, time-sortable id (ULID layout: 48-bit ms timestamp + 80 random bits).

    Ids made by one process are strictly increasing, even within a millisecond or if the clock
    steps back (the random part is incremented), so ordering by id is ordering by creation,
    which cursor pagination uses. Also used for other records' ids (uploads).
    """
    global _last_id
    ms = time.time_ns() // 1_000_000
    with _id_lock:
        last_ms, last_rand = _last_id
        if ms <= last_ms and last_rand < (1 << 80) - 1:
            ms, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_id = (ms, rand)
    value = (ms << 80) | rand
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite has no timezone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: vidgate stores aware UTC times only")
        value = value.astimezone(UTC)
        # SQLite compares these as text: keep one format, without an offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# One JSON type: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
_Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
_EventId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    # Named constraints, so Alembic migrations can refer to them on every backend.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: _Json,
        Status: Enum(
            Status,
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
    }


class Job(Base):
    """One generation request and everything known about its progress."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    #: The API key id that owns the job; :data:`NO_OWNER` when none.
    owner: Mapped[str] = mapped_column(String(64), default=NO_OWNER)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    #: sha256 (hex) of the canonical JSON of endpoint + request; tells a retry from a reuse.
    request_hash: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    #: The validated wire body sent upstream.
    request: Mapped[dict[str, Any]]
    status: Mapped[Status] = mapped_column(default=Status.QUEUED)
    #: Why the job waits or failed, in words.
    status_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    #: Which upstream attempt is current; starts at 1.
    attempt: Mapped[int] = mapped_column(default=1)
    #: The current upstream task id.
    task_id: Mapped[str | None] = mapped_column(String(64))
    estimated_credits: Mapped[float | None] = mapped_column(Float)
    cost_credits: Mapped[float | None] = mapped_column(Float)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    #: When a worker should next look at the job.
    next_run_at: Mapped[datetime]
    #: A worker's claim on the job; once expired, another worker may claim it.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    #: When the job times out.
    deadline_at: Mapped[datetime | None]
    poll_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    output_key: Mapped[str | None] = mapped_column(String(512))
    poster_key: Mapped[str | None] = mapped_column(String(512))
    output_bytes: Mapped[int | None] = mapped_column(BigInteger)
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    output_duration_seconds: Mapped[float | None] = mapped_column(Float)
    output_width: Mapped[int | None]
    output_height: Mapped[int | None]
    output_codec: Mapped[str | None] = mapped_column(String(32))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The job this one continues (chained segments).
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    segment_index: Mapped[int | None]
    #: Bumped by every change; the compare-and-set token.
    version: Mapped[int] = mapped_column(default=1)
    webhook_url: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key"),
        # The worker's claim query: due, non-terminal jobs.
        Index(None, "status", "next_run_at"),
        # Listing one owner's jobs, newest first.
        Index(None, "owner", "id"),
        # A key's spend in a day or month (budgets, usage); made by migration 0004.
        Index(None, "owner", "created_at"),
        Index(None, "parent_id"),
    )

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.status.value} v{self.version}>"


class Attempt(Base):
    """One upstream task made for a job (a job may need several: INTERNAL retries)."""

    __tablename__ = "attempts"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[Status]
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Attempt {self.job_id}#{self.number} {self.status.value}>"


class JobEvent(Base):
    """One change to a job, in order; the id is what SSE clients resume from (Last-Event-ID)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(_EventId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(64))
    #: ``created``, ``status``, ``progress`` or ``cancel_requested``.
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "job_id", "id"), Index(None, "owner", "id"))

    def __repr__(self) -> str:
        return f"<JobEvent {self.id} {self.job_id} {self.type}>"
