"""Reading jobs, attempts and events: one job, pages of them, counts, a job's history; the
operator's figures (failures by code and day, bytes stored).

``owner=None`` when reading means "any owner" (internal callers such as the worker).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select

from vidgate.db.dialect import Bind, lowered, utc_day
from vidgate.errors import NotFound, ValidationFailed
from vidgate.jobs.models import Attempt, Job, JobEvent
from vidgate.jobs.status import Status
from vidgate.jobs.versioned import JobTable

__all__ = ["FailureCount", "JobPage", "JobQueries", "StoredOutputs"]

_CURSOR = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class JobPage(NamedTuple):
    """One page of :meth:`~vidgate.jobs.store.JobStore.list_jobs`, newest first."""

    jobs: list[Job]
    #: Pass back as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None


class FailureCount(NamedTuple):
    """How many jobs failed with one code on one UTC day (the day they ended)."""

    day: date
    #: The job's ``failure_code``; None for a failure without one.
    code: str | None
    jobs: int


class StoredOutputs(NamedTuple):
    """The finished videos kept in storage: how many, and their bytes."""

    outputs: int
    bytes: int


def _text_match(text: str, bind: Bind) -> ColumnElement[bool]:
    """SQL: the job's id is ``text``, or its prompt or failure message contains it (any case)."""
    needle = text.lower()
    prompt = Job.request["promptText"].as_string()
    return or_(
        Job.id == text.upper(),
        lowered(prompt, bind).contains(needle, autoescape=True),
        lowered(Job.failure_message, bind).contains(needle, autoescape=True),
    )


class JobQueries(JobTable):
    """Every read of the store."""

    async def get_job(self, job_id: str, owner: str | None = None) -> Job:
        """The job ``job_id``; :class:`~vidgate.errors.NotFound` if missing or someone else's."""
        async with self._reading() as session:
            job = await session.get(Job, job_id)
        if job is None or (owner is not None and job.owner != owner):
            raise NotFound(f"no job {job_id}")
        return job

    async def list_jobs(
        self,
        owner: str | None,
        *,
        status: Status | Collection[Status] | None = None,
        model: str | None = None,
        failure_code: str | None = None,
        text: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first; ``owner=None`` lists every owner's jobs.

        ``text`` keeps the job whose id it is, and the jobs whose prompt or failure message
        contains it, in any case.

        ``cursor`` is the ``next_cursor`` of the previous page; a malformed one raises
        :class:`~vidgate.errors.ValidationFailed` naming the ``cursor`` field.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        stmt = select(Job).order_by(Job.id.desc()).limit(limit + 1)
        if owner is not None:
            stmt = stmt.where(Job.owner == owner)
        if isinstance(status, Status):
            stmt = stmt.where(Job.status == status)
        elif status is not None:
            stmt = stmt.where(Job.status.in_(list(status)))
        if model is not None:
            stmt = stmt.where(Job.model == model)
        if failure_code is not None:
            stmt = stmt.where(Job.failure_code == failure_code)
        if text:
            stmt = stmt.where(_text_match(text, self.engine))
        if cursor is not None:
            if not _CURSOR.match(cursor):
                raise ValidationFailed.single("cursor", "not a cursor returned by this API")
            stmt = stmt.where(Job.id < cursor)
        async with self._reading() as session:
            jobs = list(await session.scalars(stmt))
        if len(jobs) > limit:
            return JobPage(jobs[:limit], next_cursor=jobs[limit - 1].id)
        return JobPage(jobs, next_cursor=None)

    async def list_children(self, parent_id: str) -> list[Job]:
        """The jobs made for ``parent_id`` (a chain's segments), by segment index."""
        stmt = select(Job).where(Job.parent_id == parent_id).order_by(Job.segment_index, Job.id)
        async with self._reading() as session:
            return list(await session.scalars(stmt))

    async def count_by_status(self, owner: str | None = None) -> dict[Status, int]:
        """How many jobs are in each status (every status present, zeros included)."""
        stmt = select(Job.status, func.count()).group_by(Job.status)
        if owner is not None:
            stmt = stmt.where(Job.owner == owner)
        counts = dict.fromkeys(Status, 0)
        async with self._reading() as session:
            for status, count in await session.execute(stmt):
                counts[status] = count
        return counts

    async def failures_by_day(self, first: date, last: date) -> list[FailureCount]:
        """Failed jobs by UTC day of their end and failure code, days ``first`` to ``last``
        inclusive; sorted by day, then code; days without failures are absent."""
        since = datetime.combine(first, time(), tzinfo=UTC)
        until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
        async with self._reading() as session:
            day = utc_day(Job.finished_at, session).label("day")
            stmt = (
                select(day, Job.failure_code, func.count())
                .where(
                    Job.status == Status.FAILED,
                    Job.finished_at >= since,
                    Job.finished_at < until,
                )
                .group_by(day, Job.failure_code)
            )
            rows = (await session.execute(stmt)).all()
        counts = [FailureCount(date.fromisoformat(d), code, int(n)) for d, code, n in rows]
        return sorted(counts, key=lambda c: (c.day, c.code or ""))

    async def stored_outputs(self) -> StoredOutputs:
        """How many finished videos are kept, and their bytes (the outputs' own sizes)."""
        stmt = select(func.count(Job.output_bytes), func.coalesce(func.sum(Job.output_bytes), 0))
        async with self._reading() as session:
            outputs, stored = (await session.execute(stmt)).one()
        return StoredOutputs(int(outputs), int(stored or 0))

    async def recent_run_seconds(self, *, limit: int = 2000) -> list[tuple[str, float]]:
        """(model, seconds from submission to the end) of the most recently succeeded jobs.

        The poll cadence learns each model's run time from these when a worker starts.
        """
        stmt = (
            select(Job.model, Job.submitted_at, Job.finished_at)
            .where(
                Job.status == Status.SUCCEEDED,
                Job.submitted_at.is_not(None),
                Job.finished_at.is_not(None),
            )
            .order_by(Job.finished_at.desc())
            .limit(limit)
        )
        async with self._reading() as session:
            rows = (await session.execute(stmt)).all()
        return [
            (model, (finished - submitted).total_seconds())
            for model, submitted, finished in rows
            if submitted is not None and finished is not None
        ]

    async def list_attempts(self, job_id: str) -> list[Attempt]:
        """A job's attempts, first to last."""
        stmt = select(Attempt).where(Attempt.job_id == job_id).order_by(Attempt.number)
        async with self._reading() as session:
            return list(await session.scalars(stmt))

    async def events_since(
        self,
        after_id: int = 0,
        *,
        owner: str | None = None,
        job_id: str | None = None,
        limit: int = 100,
    ) -> list[JobEvent]:
        """Events with ``id > after_id`` in id order, for one owner and/or one job.

        ``after_id`` is the last event id a client saw (SSE ``Last-Event-ID``); 0 from the start.
        """
        stmt = select(JobEvent).where(JobEvent.id > after_id).order_by(JobEvent.id).limit(limit)
        if owner is not None:
            stmt = stmt.where(JobEvent.owner == owner)
        if job_id is not None:
            stmt = stmt.where(JobEvent.job_id == job_id)
        async with self._reading() as session:
            return list(await session.scalars(stmt))
