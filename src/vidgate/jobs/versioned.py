"""Every change to a job is a compare-and-set on its version, with an event in the same transaction.

A writer holding an old snapshot gets :class:`StaleJob` and must re-read and decide again; when the
one change it missed is a cancel request (the only write that leaves a job with its holder),
:meth:`JobTable.reread_for_holder` hands it the fresh snapshot to act on at once. A status
or progress change appends a :class:`~vidgate.jobs.models.JobEvent`; on PostgreSQL event writers
queue on an advisory lock held until commit, so event ids become visible in id order and a reader
resuming after id N never skips one. :class:`JobTable` is the base every part of
:class:`~vidgate.jobs.store.JobStore` shares: the engine, its transactions, these primitives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vidgate.clock import utcnow
from vidgate.db.dialect import advisory_lock, for_update
from vidgate.db.engine import Transactions
from vidgate.errors import InternalError, NotFound
from vidgate.jobs.models import Job, JobEvent
from vidgate.jobs.status import Status

#: One line per job transition, rendered by vidgate.api.logging from the job in ``extra``.
transitions = logging.getLogger("vidgate.jobs")

__all__ = [
    "ORM_UPDATE",
    "PG_EVENT_LOCK",
    "JobChanges",
    "JobTable",
    "StaleJob",
    "event_data",
    "transitions",
]

# Any constant: it only has to be the same in every vidgate process.
PG_EVENT_LOCK = 0x76_67_65_76_65_6E_74  # "vgevent"
#: Execution options of an ``UPDATE ... RETURNING`` that hands back fresh detached snapshots.
ORM_UPDATE = {"synchronize_session": False, "populate_existing": True}


class StaleJob(InternalError):
    """The job changed since this snapshot was read (another worker's claim, a cancel request).

    Re-read the job and decide again; never retry the same write blindly.
    """

    def __init__(self, job_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"job {job_id} is at version {actual_version}, not {expected_version}: re-read it"
        )
        self.job_id = job_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class JobChanges(TypedDict, total=False):
    """The columns :meth:`JobTable.update_job` may change (the rest are fixed at creation)."""

    status: Status
    status_reason: str | None
    progress: float
    attempt: int
    task_id: str | None
    request: dict[str, Any]
    estimated_credits: float | None
    cost_credits: float | None
    failure_code: str | None
    failure_message: str | None
    next_run_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    deadline_at: datetime | None
    poll_count: int
    submitted_at: datetime | None
    finished_at: datetime | None
    output_key: str | None
    poster_key: str | None
    output_bytes: int | None
    output_sha256: str | None
    output_duration_seconds: float | None
    output_width: int | None
    output_height: int | None
    output_codec: str | None
    output_audio_codec: str | None
    output_audio_channels: int | None
    output_audio_sample_rate: int | None
    output_audio_seconds: float | None
    preview_key: str | None
    provenance: dict[str, Any] | None
    cancel_requested: bool
    parent_id: str | None
    segment_index: int | None
    webhook_url: str | None


_CHANGEABLE = JobChanges.__optional_keys__


def event_data(job: Job) -> dict[str, Any]:
    """What an event records of the job it is about."""
    data: dict[str, Any] = {
        "status": job.status.value,
        "progress": job.progress,
        "version": job.version,
    }
    if job.status_reason is not None:
        data["status_reason"] = job.status_reason
    if job.failure_code is not None:
        data["failure_code"] = job.failure_code
    if job.failure_message is not None:
        data["failure_message"] = job.failure_message
    if job.cancel_requested:
        data["cancel_requested"] = True
    return data


class JobTable:
    """The jobs table on one engine: transactions, the row lock, events, compare-and-set; the
    base of every part of :class:`~vidgate.jobs.store.JobStore` (whose docstring has the rules)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def _lock_row(self, session: AsyncSession, job_id: str) -> Job | None:
        # SQLite's BEGIN IMMEDIATE already excludes other writers; PostgreSQL locks the row.
        stmt = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        # NO KEY UPDATE: inserts of attempts and events referencing the job are not blocked.
        stmt = for_update(stmt, session, key_share=True)
        return (await session.scalars(stmt)).one_or_none()

    async def _append_event(
        self, session: AsyncSession, job: Job, type_: str, now: datetime
    ) -> None:
        # Held until commit: event ids become visible in the order they were allocated.
        await advisory_lock(session, PG_EVENT_LOCK)
        session.add(
            JobEvent(
                job_id=job.id, owner=job.owner, type=type_, data=event_data(job), created_at=now
            )
        )
        await session.flush()

    async def update_job(
        self,
        job: Job | str,
        *,
        expected_version: int,
        now: datetime | None = None,
        **changes: Unpack[JobChanges],
    ) -> Job:
        """Apply ``changes`` if the job is still at ``expected_version``; return the new snapshot.

        Bumps ``version`` and ``updated_at``; a move to a terminal status also sets
        ``finished_at`` unless given. A status or progress change appends an event.
        Raises :class:`StaleJob` if the version moved, :class:`~vidgate.errors.NotFound` if the
        job is gone.
        """
        job_id = job if isinstance(job, str) else job.id
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise TypeError(f"update_job cannot change {', '.join(sorted(unknown))}")
        progress = changes.get("progress")
        if progress is not None and not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress {progress} is outside 0..1")
        now = now or utcnow()
        async with self._writing() as session:
            return await self._compare_and_set(session, job_id, expected_version, now, changes)

    async def _compare_and_set(
        self,
        session: AsyncSession,
        job_id: str,
        expected_version: int,
        now: datetime,
        changes: Mapping[str, Any],
        event_type: str | None = None,
    ) -> Job:
        current = await self._lock_row(session, job_id)
        if current is None:
            raise NotFound(f"no job {job_id}")
        if current.version != expected_version:
            raise StaleJob(job_id, expected_version, current.version)
        before = (current.status, current.progress)
        values = dict(changes)
        status = values.get("status")
        if status is not None and status.is_terminal and not current.status.is_terminal:
            values.setdefault("finished_at", now)
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.version == expected_version)
            .values(**values, version=Job.version + 1, updated_at=now)
            .returning(Job)
            .execution_options(**ORM_UPDATE)
        )
        updated = (await session.scalars(stmt)).one_or_none()
        if updated is None:  # pragma: no cover - the row is locked; kept as a guard
            raise StaleJob(job_id, expected_version, -1)
        if event_type is None:
            if updated.status != before[0]:
                event_type = "status"
                level = logging.WARNING if updated.status is Status.FAILED else logging.INFO
                transitions.log(
                    level,
                    "job %s %s",
                    job_id,
                    updated.status.value,
                    extra={"job": updated, "previous": before[0].value},
                )
            elif updated.progress != before[1]:
                event_type = "progress"
        if event_type is not None:
            await self._append_event(session, updated, event_type, now)
        return updated

    async def reread_for_holder(self, stale: StaleJob, held: Job) -> Job | None:
        """After ``stale``: the job as it now stands, if the one write its holder missed is a
        cancel request; None if anything else moved it (another worker took it over, it ended).

        ``held`` is any snapshot the holder had since it took the job. A cancel request only sets
        ``cancel_requested`` (once) and bumps the version: the job stays with its holder, which
        must act on it now (write what it learned, cancel what it started) instead of leaving it
        until its lease runs out. A takeover changes the lease owner or adds a second write.
        """
        async with self._reading() as session:
            fresh = await session.get(Job, stale.job_id)
        if fresh is None or fresh.status.is_terminal:
            return None
        cancelled_meanwhile = fresh.cancel_requested and not held.cancel_requested
        only_that = fresh.version == stale.expected_version + 1
        if cancelled_meanwhile and only_that and fresh.lease_owner == held.lease_owner:
            return fresh
        return None

    async def release(
        self,
        job: Job,
        next_run_at: datetime,
        /,
        *,
        now: datetime | None = None,
        **changes: Unpack[JobChanges],
    ) -> Job:
        """End this worker's lease and schedule the next run, with optional other changes.

        The compare-and-set uses ``job.version``: a worker whose lease was taken over gets
        :class:`StaleJob` instead of overwriting the new owner's work.
        """
        changes["next_run_at"] = next_run_at
        changes["lease_owner"] = None
        changes["lease_expires_at"] = None
        return await self.update_job(job, expected_version=job.version, now=now, **changes)
