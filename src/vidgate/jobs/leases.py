"""Who holds a job: claims of due jobs, the heartbeat that keeps them, and cancel requests.

:meth:`JobLeases.claim_due_jobs` leases due jobs atomically (:func:`~vidgate.db.dialect.claim_due`)
and bumps their version, so a worker whose lease expired and was taken over loses its next
compare-and-set.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from vidgate.clock import utcnow
from vidgate.db.dialect import Lease, claim_due
from vidgate.errors import NotFound
from vidgate.jobs.models import Job
from vidgate.jobs.status import ACTIVE_STATUSES, Status
from vidgate.jobs.versioned import JobTable
from vidgate.settings import DEFAULTS

__all__ = ["JobLeases"]


class JobLeases(JobTable):
    """Claims, heartbeats and cancel requests."""

    async def claim_due_jobs(
        self,
        worker_id: str,
        *,
        now: datetime | None = None,
        limit: int = 10,
        lease_seconds: float = DEFAULTS.lease_seconds,
    ) -> list[Job]:
        """Lease up to ``limit`` due jobs to ``worker_id``, oldest due first.

        Due: not terminal, ``next_run_at <= now``, and no lease or an expired one. Each claimed
        job gets ``lease_owner=worker_id``, ``lease_expires_at=now + lease_seconds`` and a new
        version. Two concurrent claimers never receive the same job.
        """
        lease = Lease(worker_id, now or utcnow(), lease_seconds, limit)
        active = [Job.status.in_(list(ACTIVE_STATUSES))]
        async with self._writing() as session:
            # A new version: the worker whose lease ran out loses its next compare-and-set.
            bump = {"version": Job.version + 1}
            return await claim_due(session, Job, Job.next_run_at, lease, where=active, values=bump)

    async def extend_leases(
        self,
        worker_id: str,
        job_ids: Collection[str],
        *,
        lease_seconds: float,
        now: datetime | None = None,
    ) -> int:
        """Heartbeat: push back the leases ``worker_id`` still holds on ``job_ids``.

        The version is left alone, so the steps in flight can still write their results; a
        lease already taken over by another worker is not touched. Returns how many were extended.
        """
        if not job_ids:
            return 0
        now = now or utcnow()
        stmt = (
            update(Job)
            .where(Job.id.in_(list(job_ids)), Job.lease_owner == worker_id)
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        async with self._writing() as session:
            result = await session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def request_cancel(
        self, job_id: str, owner: str | None = None, *, now: datetime | None = None
    ) -> Job:
        """Ask for the job to be cancelled; returns the job as it now stands.

        A job never sent upstream (queued or locally throttled, no task, no live lease) is
        cancelled at once. Otherwise ``cancel_requested`` is set, the job is made due now and
        its version bumped, so the worker holding it notices at its next compare-and-set.
        A finished job is returned unchanged.
        """
        now = now or utcnow()
        async with self._writing() as session:
            job = await self._lock_row(session, job_id)
            if job is None or (owner is not None and job.owner != owner):
                raise NotFound(f"no job {job_id}")
            if job.status.is_terminal or job.cancel_requested:
                return job
            leased = job.lease_expires_at is not None and job.lease_expires_at > now
            if job.status in (Status.QUEUED, Status.THROTTLED) and not job.task_id and not leased:
                changes: dict[str, Any] = {
                    "status": Status.CANCELLED,
                    "status_reason": "cancelled before it was sent to the provider",
                    "cancel_requested": True,
                    "lease_owner": None,
                    "lease_expires_at": None,
                }
                return await self._compare_and_set(session, job.id, job.version, now, changes)
            changes = {"cancel_requested": True, "next_run_at": min(job.next_run_at, now)}
            return await self._compare_and_set(
                session, job.id, job.version, now, changes, event_type="cancel_requested"
            )
