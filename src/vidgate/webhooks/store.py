"""The durable side of webhooks: targets, deliveries and their attempts, on SQLAlchemy.

Concurrency rules the dispatcher relies on (several processes may share one PostgreSQL):

- :meth:`WebhookStore.enqueue_events` reads ``job_events`` after a shared cursor and advances it
  in the same transaction as the deliveries it makes. The cursor row is locked (PostgreSQL: ``FOR
  UPDATE SKIP LOCKED``, so a second dispatcher skips the round instead of waiting; SQLite:
  ``BEGIN IMMEDIATE``), so each event is turned into deliveries once. The job store makes event
  ids visible in id order, so reading after the cursor never skips one.
- :meth:`WebhookStore.claim_due` leases due deliveries as ``JobStore.claim_due_jobs`` leases jobs.
  A dispatcher that dies after sending but before recording leaves the lease to run out, and the
  delivery is sent again: at least once, never lost (receivers dedupe on the delivery id).

Signing secrets are sealed on the way in and opened on the way out (:mod:`.sealing`): what the
store hands out is the secret, what the database holds is useless without the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vidgate.clock import utcnow
from vidgate.db.base import new_job_id
from vidgate.db.dialect import Lease, claim_due, for_update
from vidgate.db.engine import Transactions
from vidgate.errors import ConfigurationError, NotFound
from vidgate.jobs.models import NO_OWNER, Job, JobEvent
from vidgate.jobs.status import Status
from vidgate.settings import DEFAULTS
from vidgate.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookTarget,
)
from vidgate.webhooks.schedule import RetrySchedule
from vidgate.webhooks.sealing import SecretSealer
from vidgate.webhooks.signing import new_webhook_secret

__all__ = [
    "DELIVERY_ID_PREFIX",
    "AttemptOutcome",
    "DeliveryLog",
    "JobRenderer",
    "WebhookDefaults",
    "WebhookStore",
    "delivery_lease_seconds",
    "event_type_of",
]

DELIVERY_ID_PREFIX = "whd_"
#: Turns a job into the JSON the API shows for it (the payload's ``data``).
JobRenderer = Callable[[Job], dict[str, Any]]

_CURSOR_NAME = "job_events"
_ORM_UPDATE = {"synchronize_session": False, "populate_existing": True}


class AttemptOutcome(NamedTuple):
    """What one request for a delivery came to."""

    started_at: datetime
    duration_seconds: float
    #: The receiver's HTTP status; None when no answer came.
    status_code: int | None
    #: Why it failed; None when the receiver answered 2xx.
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class WebhookDefaults(NamedTuple):
    """An owner's webhook defaults, with the signing secret opened."""

    url: str | None
    #: The secret; None when there is none, or when no key of this process opens it (then
    #: ``secret_set`` is still True).
    secret: str | None
    secret_set: bool


class DeliveryLog(NamedTuple):
    """A delivery and every attempt made for it, first to last."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def delivery_lease_seconds(timeout_seconds: float) -> float:
    """How long a dispatcher's claim on a delivery lasts, for requests bounded by
    ``timeout_seconds``: long enough for one, after it another dispatcher may send it again."""
    return 2 * timeout_seconds + 30.0


def _owner(owner: str | None) -> str:
    return owner or NO_OWNER


def event_type_of(status: Status) -> str:
    """The webhook event a move to ``status`` makes: ``generation.<status>``."""
    return f"generation.{status.value}"


class WebhookStore:
    """Webhook targets, deliveries and attempts in the job store's database.

    Methods return detached snapshots; each is one short transaction. ``owner=None`` means the
    ownerless operator (no API key), stored as ``''`` like ``jobs.owner``.
    """

    def __init__(self, engine: AsyncEngine, sealer: SecretSealer) -> None:
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing
        self._sealer = sealer

    # -- targets ------------------------------------------------------------------------------

    def _defaults(self, target: WebhookTarget) -> WebhookDefaults:
        stored = target.sealed_secret
        secret = None
        if stored is not None:
            # One no key opens is shown as set; its deliveries say why they cannot be signed.
            with contextlib.suppress(ConfigurationError):
                secret = self._sealer.open(stored)
        return WebhookDefaults(target.url, secret, stored is not None)

    async def get_target(self, owner: str | None) -> WebhookDefaults | None:
        """The owner's webhook defaults; None when never set."""
        async with self._reading() as session:
            target = await session.get(WebhookTarget, _owner(owner))
        return None if target is None else self._defaults(target)

    async def set_default_url(
        self, owner: str | None, url: str | None, *, now: datetime | None = None
    ) -> tuple[WebhookDefaults, str | None]:
        """Set (or with None, clear) the owner's default URL; returns the defaults and the secret
        if this call had to make one (the only time it is returned)."""
        now = now or utcnow()
        async with self._writing() as session:
            target = await session.get(WebhookTarget, _owner(owner), with_for_update=True)
            made = None
            if target is None:
                target = WebhookTarget(owner=_owner(owner), created_at=now, updated_at=now)
                session.add(target)
            if target.sealed_secret is None and url is not None:
                made = new_webhook_secret()
                target.sealed_secret = self._sealer.seal(made)
            target.url = url
            target.updated_at = now
        return self._defaults(target), made

    async def rotate_secret(self, owner: str | None, *, now: datetime | None = None) -> str:
        """Make a new signing secret for the owner (the old one stops at once); returns it."""
        now = now or utcnow()
        secret = new_webhook_secret()
        async with self._writing() as session:
            target = await session.get(WebhookTarget, _owner(owner), with_for_update=True)
            if target is None:
                target = WebhookTarget(owner=_owner(owner), created_at=now)
                session.add(target)
            target.sealed_secret = self._sealer.seal(secret)
            target.updated_at = now
        return secret

    # -- making deliveries from job events ----------------------------------------------------

    async def enqueue_events(
        self, render: JobRenderer, *, limit: int = 200, now: datetime | None = None
    ) -> int:
        """Turn the job events after the cursor into deliveries; returns how many events it read.

        A move to a terminal status makes one delivery when the job has a webhook URL (its own,
        else its owner's default) and is not a chain's segment. 0 also when another dispatcher
        holds the cursor.
        """
        now = now or utcnow()
        async with self._writing() as session:
            cursor = await session.scalar(
                for_update(
                    select(WebhookCursor).where(WebhookCursor.name == _CURSOR_NAME),
                    session,
                    skip_locked=True,
                )
            )
            if cursor is None:
                return 0
            events = list(
                await session.scalars(
                    select(JobEvent)
                    .where(JobEvent.id > cursor.last_event_id)
                    .order_by(JobEvent.id)
                    .limit(limit)
                )
            )
            if not events:
                return 0
            final = [e for e in events if e.type == "status" and _terminal(e.data.get("status"))]
            if final:
                await self._add_deliveries(session, final, render, now)
            cursor.last_event_id = events[-1].id
        return len(events)

    async def _add_deliveries(
        self, session: AsyncSession, events: list[JobEvent], render: JobRenderer, now: datetime
    ) -> None:
        job_ids = {e.job_id for e in events}
        jobs = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(job_ids)))}
        owners = {j.owner for j in jobs.values()}
        targets = {
            t.owner: t
            for t in await session.scalars(
                select(WebhookTarget).where(WebhookTarget.owner.in_(owners))
            )
        }
        for event in events:
            job = jobs.get(event.job_id)
            # A chain's segments are steps of its parent job, which sends its own webhook.
            if job is None or job.parent_id is not None:
                continue
            target = targets.get(job.owner)
            url = job.webhook_url or (target.url if target else None)
            if not url:
                continue
            delivery_id = DELIVERY_ID_PREFIX + new_job_id()
            event_type = event_type_of(Status(event.data["status"]))
            payload = {
                "id": delivery_id,
                "type": event_type,
                "createdAt": event.created_at.isoformat().replace("+00:00", "Z"),
                "data": render(job),
            }
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    job_id=job.id,
                    owner=job.owner,
                    event_id=event.id,
                    event_type=event_type,
                    url=url,
                    payload=payload,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    round_failures=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )

    # -- sending ------------------------------------------------------------------------------

    async def claim_due(
        self,
        worker_id: str,
        *,
        now: datetime | None = None,
        limit: int = 16,
        lease_seconds: float = delivery_lease_seconds(DEFAULTS.webhook_timeout_seconds),
    ) -> list[WebhookDelivery]:
        """Lease up to ``limit`` due pending deliveries to ``worker_id``, oldest due first.

        Two concurrent claimers never receive the same delivery while its lease lasts.
        """
        lease = Lease(worker_id, now or utcnow(), lease_seconds, limit)
        pending = [WebhookDelivery.status == DeliveryStatus.PENDING]
        async with self._writing() as session:
            return await claim_due(
                session, WebhookDelivery, WebhookDelivery.next_attempt_at, lease, where=pending
            )

    async def signing_secret(self, owner: str) -> str | None:
        """The secret an owner's deliveries are signed with; None when it has none yet.

        Raises :class:`~vidgate.errors.ConfigurationError` when no key of this process opens it.
        """
        async with self._reading() as session:
            target = await session.get(WebhookTarget, owner)
        if target is None or target.sealed_secret is None:
            return None
        return self._sealer.open(target.sealed_secret)

    async def record_attempt(
        self,
        delivery: WebhookDelivery,
        worker_id: str,
        outcome: AttemptOutcome,
        *,
        schedule: RetrySchedule,
        now: datetime | None = None,
    ) -> WebhookDelivery | None:
        """Log one attempt and move the delivery on: delivered, retried later, or failed.

        A success counts whoever holds the lease. A failure by a dispatcher whose lease was taken
        over is only logged: the new holder decides what comes next. None if the job is gone.
        """
        now = now or utcnow()
        async with self._writing() as session:
            row = await session.get(WebhookDelivery, delivery.id, with_for_update=True)
            if row is None:
                return None
            row.attempts += 1
            session.add(
                WebhookAttempt(
                    delivery_id=row.id,
                    number=row.attempts,
                    started_at=outcome.started_at,
                    duration_seconds=outcome.duration_seconds,
                    status_code=outcome.status_code,
                    error=outcome.error,
                )
            )
            row.last_status_code = outcome.status_code
            row.last_error = outcome.error
            row.updated_at = now
            if row.round_started_at is None:
                row.round_started_at = outcome.started_at
            holder = row.status is DeliveryStatus.PENDING and row.lease_owner == worker_id
            if outcome.ok:
                row.status = DeliveryStatus.DELIVERED
                row.delivered_at = now
                row.round_failures = 0
            elif holder:
                row.round_failures += 1
                if schedule.gives_up(now - row.round_started_at):
                    row.status = DeliveryStatus.FAILED
                else:
                    row.next_attempt_at = now + schedule.delay(row.round_failures)
            if outcome.ok or holder:
                row.lease_owner = None
                row.lease_expires_at = None
        return row

    # -- reading and redelivering -------------------------------------------------------------

    async def list_deliveries(self, job_id: str) -> list[DeliveryLog]:
        """A job's deliveries, oldest first, each with its attempts."""
        async with self._reading() as session:
            deliveries = list(
                await session.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.job_id == job_id)
                    .order_by(WebhookDelivery.id)
                )
            )
            attempts = list(
                await session.scalars(
                    select(WebhookAttempt)
                    .where(WebhookAttempt.delivery_id.in_([d.id for d in deliveries]))
                    .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
                )
            )
        by_delivery: dict[str, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
        for attempt in attempts:
            by_delivery[attempt.delivery_id].append(attempt)
        return [DeliveryLog(d, by_delivery[d.id]) for d in deliveries]

    async def redeliver(
        self, job_id: str, delivery_id: str, *, now: datetime | None = None
    ) -> WebhookDelivery:
        """Send a delivery again, same id and body, as a new round of retries.

        A delivery still pending is only made due now. NotFound if it is not one of the job's.
        """
        now = now or utcnow()
        async with self._writing() as session:
            row = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if row is None or row.job_id != job_id:
                raise NotFound(f"no delivery {delivery_id} for job {job_id}")
            if row.status is not DeliveryStatus.PENDING:
                row.status = DeliveryStatus.PENDING
                row.round_failures = 0
                row.round_started_at = None
                row.next_attempt_at = now
            else:
                row.next_attempt_at = min(row.next_attempt_at, now)
            row.updated_at = now
        return row


def _terminal(status: Any) -> bool:
    try:
        return Status(status).is_terminal
    except ValueError:
        return False
