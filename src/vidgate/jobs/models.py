"""The job store's tables, as SQLAlchemy 2 typed ORM classes.

Rows come back from :class:`~vidgate.jobs.store.JobStore` as detached snapshots: reading their
attributes is free, changing them does nothing. Every change goes through the store, which
checks the row's ``version`` (compare-and-set) and appends a :class:`JobEvent`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from vidgate.db.base import Base, BigId
from vidgate.jobs.status import Status

__all__ = ["NO_OWNER", "Attempt", "Job", "JobEvent"]

#: Stored in ``jobs.owner`` when no API key owns the job. Not NULL, so that the unique
#: (owner, idempotency_key) constraint also holds for ownerless jobs (NULLs never collide).
NO_OWNER = ""

# Stored as its value in a short string column (no native enum type to migrate).
_StatusType = Enum(
    Status,
    native_enum=False,
    length=16,
    values_callable=lambda members: [m.value for m in members],
    validate_strings=True,
)


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
    status: Mapped[Status] = mapped_column(_StatusType, default=Status.QUEUED)
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
    #: The output's sound track as probed (all None: no sound); migration 0007.
    output_audio_codec: Mapped[str | None] = mapped_column(String(32))
    output_audio_channels: Mapped[int | None]
    output_audio_sample_rate: Mapped[int | None]
    output_audio_seconds: Mapped[float | None] = mapped_column(Float)
    #: A short animated WebP of the output (``GET /v1/generations/{id}/preview``).
    preview_key: Mapped[str | None] = mapped_column(String(512))
    #: The output's C2PA manifest as vidgate read it (:mod:`vidgate.media.provenance`).
    provenance: Mapped[dict[str, Any] | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The job this one continues (chained segments).
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    segment_index: Mapped[int | None]
    #: Bumped by every change; the compare-and-set token.
    version: Mapped[int] = mapped_column(default=1)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    #: An SDK surface's create (``/runway``, ``/openai``): its ``request_hash`` while the SDK's
    #: automatic retries may still come. Unique per owner, so a retry and its original cannot
    #: both insert a job (:mod:`vidgate.jobs.creation`); migration 0008.
    sdk_request_key: Mapped[str | None] = mapped_column(String(64))
    #: Made by an SDK retry whose original has not been seen yet (it may still be in flight).
    sdk_original_pending: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key"),
        # The worker's claim query: due, non-terminal jobs.
        Index(None, "status", "next_run_at"),
        # Listing one owner's jobs, newest first.
        Index(None, "owner", "id"),
        # A key's spend in a day or month (budgets, usage); made by migration 0004.
        Index(None, "owner", "created_at"),
        Index(None, "parent_id"),
        # One job per (owner, request) while SDK retries may come; NULLs never collide.
        Index(None, "owner", "sdk_request_key", unique=True),
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
    status: Mapped[Status] = mapped_column(_StatusType)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Attempt {self.job_id}#{self.number} {self.status.value}>"


class JobEvent(Base):
    """One change to a job, in order; the id is what SSE clients resume from (Last-Event-ID)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(64))
    #: ``created``, ``status``, ``progress`` or ``cancel_requested``.
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "job_id", "id"), Index(None, "owner", "id"))

    def __repr__(self) -> str:
        return f"<JobEvent {self.id} {self.job_id} {self.type}>"
