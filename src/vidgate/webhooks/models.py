"""The webhook tables, on the job store's :class:`~vidgate.jobs.models.Base` (migration 0003).

- :class:`WebhookTarget`: per owner (an API key, or :data:`~vidgate.jobs.models.NO_OWNER`), the
  default URL and the signing secret. Kept apart from ``api_keys`` so that the ownerless operator
  has one too. Signing needs the secret itself (a hash would not do), so it is stored sealed with a
  key kept outside the database (:mod:`vidgate.webhooks.sealing`).
- :class:`WebhookDelivery`: one event for one URL; retried until delivered or given up.
- :class:`WebhookAttempt`: the log, one row per request sent.
- :class:`WebhookCursor`: how far the dispatchers have read ``job_events``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vidgate.db.base import Base
from vidgate.jobs.models import NO_OWNER

__all__ = [
    "DeliveryStatus",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookTarget",
]


class DeliveryStatus(StrEnum):
    """Where a delivery stands; the value is what the database and the API carry."""

    #: Waiting for its next attempt (or being attempted under a lease).
    PENDING = "pending"
    #: The receiver answered 2xx; never sent again unless redelivered by hand.
    DELIVERED = "delivered"
    #: Every retry failed for the whole retry window; a manual redelivery starts a new round.
    FAILED = "failed"


class WebhookTarget(Base):
    """An owner's webhook defaults: the URL used when a request names none, and the secret."""

    __tablename__ = "webhook_targets"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True, default=NO_OWNER)
    url: Mapped[str | None] = mapped_column(Text)
    #: The ``whsec_...`` secret sealed (:mod:`vidgate.webhooks.sealing`); None until one is made.
    sealed_secret: Mapped[str | None] = mapped_column("secret", String(512))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event of one job, to one URL: the unit that is retried, logged and redelivered."""

    __tablename__ = "webhook_deliveries"

    #: ``whd_`` + a time-sortable id; sent as ``webhook-id`` on every attempt.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(64))
    #: The ``job_events`` row that made it.
    event_id: Mapped[int] = mapped_column(BigInteger)
    #: ``generation.succeeded``, ``generation.failed`` or ``generation.cancelled``.
    event_type: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    #: The JSON body, fixed when the delivery is made.
    payload: Mapped[dict[str, Any]]
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        default=DeliveryStatus.PENDING,
    )
    #: Requests sent so far, every round included (the next log row's number is this + 1).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Failures in a row in the current round (a manual redelivery starts a new round).
    round_failures: Mapped[int] = mapped_column(Integer, default=0)
    #: When the current round's first attempt was made; the retry window counts from it.
    round_started_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime]
    #: A dispatcher's claim; once expired, another dispatcher sends it (at least once).
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("event_id", "url"),
        # The dispatchers' claim query: pending deliveries by due time.
        Index(None, "status", "next_attempt_at"),
        Index(None, "job_id", "id"),
    )

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.status.value}>"


class WebhookAttempt(Base):
    """One request sent for a delivery, and what came of it."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    duration_seconds: Mapped[float] = mapped_column(Float)
    #: The receiver's HTTP status; None when no answer came (timeout, refused connection).
    status_code: Mapped[int | None]
    #: Why the attempt failed, in words; None when it succeeded.
    error: Mapped[str | None] = mapped_column(Text)


class WebhookCursor(Base):
    """The id of the last ``job_events`` row turned into deliveries (one row, ``job_events``)."""

    __tablename__ = "webhook_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
