"""Sending a job upstream: the move to ``submitting`` under the tier limits, and its attempts.

Exactly once rests on this order: the intent to create (status ``submitting`` and an attempt
without a task id) is committed before the create call, the task id right after it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, or_, select

from vidgate.clock import utcnow
from vidgate.db.dialect import advisory_key, advisory_lock
from vidgate.errors import NotFound
from vidgate.jobs.models import Attempt, Job
from vidgate.jobs.status import Status
from vidgate.jobs.versioned import JobTable

__all__ = ["JobSubmissions", "SubmitSlots"]

# The advisory lock begin_submission holds per model: this prefix and the model, hashed.
_SUBMIT_LOCK = "vidgate-submit:"


class SubmitSlots(NamedTuple):
    """What :meth:`~vidgate.jobs.store.JobStore.begin_submission` counted for a model, across
    every worker."""

    #: Upstream tasks alive now: jobs submitting, or running or throttled with a task.
    active: int
    #: Upstream creates (attempts) since the ``since`` given.
    created_since: int


def _holds_slot() -> ColumnElement[bool]:
    """SQL: the job holds one of its model's concurrency slots upstream (:class:`SubmitSlots`)."""
    return or_(
        Job.status == Status.SUBMITTING,
        Job.status.in_([Status.RUNNING, Status.THROTTLED]) & Job.task_id.is_not(None),
    )


class JobSubmissions(JobTable):
    """The move to ``submitting`` and the attempts of each job."""

    async def slots_in_use(self) -> dict[str, int]:
        """Upstream tasks alive now, by model (models with none are absent): what
        :meth:`begin_submission` counts against each model's concurrency limit."""
        stmt = select(Job.model, func.count()).where(_holds_slot()).group_by(Job.model)
        async with self._reading() as session:
            return {model: int(n) for model, n in await session.execute(stmt)}

    async def begin_submission(
        self,
        job: Job,
        *,
        admit: Callable[[SubmitSlots], str | None],
        since: datetime,
        status_reason: str,
        estimated_credits: float | None = None,
        now: datetime | None = None,
    ) -> tuple[Job, str | None]:
        """Move ``job`` to ``submitting`` and record its attempt, if ``admit`` lets it.

        ``admit`` gets the job's model's :class:`SubmitSlots`, counted in the same transaction as
        the move and under a lock per model (PostgreSQL: an advisory transaction lock; SQLite:
        ``BEGIN IMMEDIATE``), and returns None to go ahead or why the job must wait. Workers
        sharing the database therefore never start more upstream tasks between them than
        ``admit`` allows. Returns the moved job and None, or the unchanged job and the reason.
        ``estimated_credits``, if given, is stored with the move.
        """
        now = now or utcnow()
        async with self._writing() as session:
            await advisory_lock(session, advisory_key(_SUBMIT_LOCK + job.model))
            active = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.model == job.model, Job.id != job.id, _holds_slot())
            )
            created = await session.scalar(
                select(func.count())
                .select_from(Attempt)
                .join(Job, Job.id == Attempt.job_id)
                .where(
                    Job.model == job.model,
                    Attempt.created_at >= since,
                    or_(Attempt.task_id.is_not(None), Attempt.status == Status.SUBMITTING),
                )
            )
            reason = admit(SubmitSlots(int(active or 0), int(created or 0)))
            if reason is not None:
                return job, reason
            changes: dict[str, Any] = {"status": Status.SUBMITTING, "status_reason": status_reason}
            if estimated_credits is not None:
                changes["estimated_credits"] = estimated_credits
            moved = await self._compare_and_set(session, job.id, job.version, now, changes)
            if await session.get(Attempt, (job.id, job.attempt)) is None:
                # Recorded with the move, so the next count of creates includes it.
                session.add(
                    Attempt(
                        job_id=job.id,
                        number=job.attempt,
                        created_at=now,
                        status=Status.SUBMITTING,
                    )
                )
            return moved, None

    async def record_attempt(
        self,
        job_id: str,
        number: int,
        *,
        task_id: str | None = None,
        status: Status = Status.SUBMITTING,
        now: datetime | None = None,
    ) -> Attempt:
        """Record attempt ``number`` of a job, or update it if already recorded.

        Call it before the upstream create call (``task_id=None``), then again with the
        task id once known: after a crash, an attempt without a task id is the one to reconcile.
        """
        now = now or utcnow()
        async with self._writing() as session:
            attempt = await session.get(Attempt, (job_id, number))
            if attempt is None:
                if await session.get(Job, job_id) is None:
                    raise NotFound(f"no job {job_id}")
                attempt = Attempt(
                    job_id=job_id, number=number, task_id=task_id, created_at=now, status=status
                )
                session.add(attempt)
            else:
                if task_id is not None:
                    attempt.task_id = task_id
                attempt.status = status
            await session.flush()
        return attempt

    async def finish_attempt(
        self,
        job_id: str,
        number: int,
        *,
        status: Status,
        failure_code: str | None = None,
        failure_message: str | None = None,
        now: datetime | None = None,
    ) -> Attempt:
        """Close attempt ``number`` with its outcome; NotFound if it was never recorded."""
        now = now or utcnow()
        async with self._writing() as session:
            attempt = await session.get(Attempt, (job_id, number))
            if attempt is None:
                raise NotFound(f"no attempt {number} of job {job_id}")
            attempt.status = status
            attempt.failure_code = failure_code
            attempt.failure_message = failure_message
            attempt.finished_at = now
            await session.flush()
        return attempt
