"""The provider's tier limits, kept before work is sent: concurrency and daily generations.

Runway lets each model run ``maxConcurrentGenerations`` tasks at once (more are stored THROTTLED
upstream) and create ``maxDailyGenerations`` in a rolling 24 hours (more are refused with 429).
Both come from ``GET /v1/organization``, of which this module keeps a snapshot, read again every
``refresh_seconds``. Before each create, :meth:`ProviderLimits.begin_submission` decides whether the
model has room; the decision and the job's move to ``submitting`` are one transaction
(:meth:`~vidgate.jobs.store.JobStore.begin_submission`), counted from the jobs table under a lock
per model, so the cap holds across every worker sharing the database, not per process. A job
without room stays ``queued`` with a ``status_reason`` naming the limit and is looked at again
``retry_seconds`` later (the next snapshot, for the daily limit).

The daily count is the snapshot's ``dailyGenerations`` plus the creates vidgate made since the
snapshot was read. If the organization cannot be read, the last snapshot is kept; with none, jobs go
ahead unchecked (Runway then throttles or refuses with 429 itself, which the pipeline survives), and
the read is tried again after a short pause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from vidgate.clock import utcnow
from vidgate.db.cache import ReadThrough
from vidgate.errors import VidgateError
from vidgate.jobs.models import Job
from vidgate.jobs.store import JobStore, SubmitSlots
from vidgate.provider.base import ModelLimits, Organization, Provider
from vidgate.settings import DEFAULTS

__all__ = ["ProviderLimits", "Waiting"]

log = logging.getLogger("vidgate.provider.limits")


class Waiting(NamedTuple):
    """Why a job may not be submitted now, and when to look again."""

    reason: str
    retry_at: datetime


@dataclass(frozen=True)
class _Snapshot:
    """What one read of the organization left: its answer (or the last good one) and when."""

    organization: Organization | None
    #: When ``organization`` was read; None before any read succeeded.
    read_at: datetime | None
    #: When this read was made, and whether it failed (then it is kept only briefly).
    checked_at: datetime
    failed: bool = False


@dataclass
class ProviderLimits:
    """A cached view of the provider's tier limits, and the gate every create passes."""

    provider: Provider
    #: How old a snapshot of the organization may get before it is read again.
    refresh_seconds: float = DEFAULTS.provider_limits_refresh_seconds
    #: How soon a job waiting for a concurrency slot is looked at again.
    retry_seconds: float = DEFAULTS.provider_limit_retry_seconds
    clock: Callable[[], datetime] = utcnow
    _cache: ReadThrough[None, _Snapshot] = field(init=False)

    def __post_init__(self) -> None:
        self._cache = ReadThrough(self._keep_seconds, clock=self.clock)

    def _keep_seconds(self, snapshot: _Snapshot) -> float:
        # After a failure, try again soon rather than at every create.
        return min(self.refresh_seconds, 10.0) if snapshot.failed else self.refresh_seconds

    async def organization(
        self, *, wait_seconds: float | None = None
    ) -> tuple[Organization | None, datetime | None]:
        """The snapshot and when it was read, read again if older than ``refresh_seconds``; with
        ``wait_seconds``, the last snapshot (if any) when the read takes longer."""
        if wait_seconds is None:
            snapshot = await self._cache.get(None, self._read)
        else:
            snapshot = await self._cache.get_within(
                None, self._read, wait_seconds, self._last_or_none
            )
        return snapshot.organization, snapshot.read_at

    def _last_or_none(self) -> _Snapshot:
        return self._cache.last(None) or _Snapshot(None, None, checked_at=self.clock())

    def _next_read(self, now: datetime) -> datetime:
        snapshot = self._cache.last(None)
        if snapshot is None:
            return now
        return snapshot.checked_at + timedelta(seconds=self._keep_seconds(snapshot))

    async def _read(self) -> _Snapshot:
        started = self.clock()
        try:
            organization = await self.provider.organization()
        except VidgateError as exc:
            # Keep what we had.
            log.warning("could not read the provider's tier limits: %s", exc)
            last = self._cache.last(None)
            return _Snapshot(
                last.organization if last else None,
                last.read_at if last else None,
                checked_at=started,
                failed=True,
            )
        return _Snapshot(organization, started, checked_at=started)

    async def model_limits(self, model: str) -> ModelLimits | None:
        """The tier limits of ``model`` as last read; None when unknown."""
        snapshot, _ = await self.organization()
        return snapshot.models.get(model) if snapshot else None

    async def begin_submission(
        self,
        store: JobStore,
        job: Job,
        *,
        status_reason: str,
        estimated_credits: float | None = None,
    ) -> tuple[Job, Waiting | None]:
        """Move ``job`` to ``submitting`` if its model has room under the tier limits.

        Returns the moved job and None, or the unchanged job and why it waits.
        """
        snapshot, read_at = await self.organization()
        limits = snapshot.models.get(job.model) if snapshot else None
        now = self.clock()
        daily_full = False

        def admit(slots: SubmitSlots) -> str | None:
            nonlocal daily_full
            if limits is None:
                return None
            if limits.max_daily is not None:
                used = limits.daily_used + slots.created_since
                if used >= limits.max_daily:
                    daily_full = True
                    return (
                        f"waiting: {job.model} reached its tier limit of {limits.max_daily} "
                        f"generations a day (rolling 24 h); vidgate checks again every "
                        f"{self.refresh_seconds:g} s"
                    )
            if limits.max_concurrent is not None and slots.active >= limits.max_concurrent:
                return (
                    f"waiting: {job.model} is at its tier limit of {limits.max_concurrent} "
                    "concurrent generations"
                )
            return None

        moved, reason = await store.begin_submission(
            job,
            admit=admit,
            since=read_at or now,
            status_reason=status_reason,
            estimated_credits=estimated_credits,
            now=now,
        )
        if reason is None:
            return moved, None
        if daily_full:
            # Generations leave the rolling window over time: the next snapshot tells.
            retry_at = max(self._next_read(now), now + timedelta(seconds=self.retry_seconds))
        else:
            retry_at = now + timedelta(seconds=self.retry_seconds)
        return moved, Waiting(reason, retry_at)
