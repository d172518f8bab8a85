"""The durable job store: every read and write of jobs, attempts and events, on SQLAlchemy.

Concurrency rules the worker relies on:

- Every change is a compare-and-set on ``jobs.version`` (:meth:`JobStore.update_job`); a writer
  holding an old snapshot gets :class:`StaleJob` and must re-read and decide again.
- :meth:`JobStore.claim_due_jobs` leases due jobs atomically (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``; SQLite: one ``UPDATE ... RETURNING`` under ``BEGIN IMMEDIATE``) and bumps their
  version, so a worker whose lease expired and was taken over loses its next compare-and-set.
- Every status or progress change appends a :class:`~vidgate.jobs.models.JobEvent` in the same
  transaction. On PostgreSQL event writers queue on an advisory lock held until commit, so event
  ids become visible in id order and a reader resuming after id N never skips one.

Owners: ``owner=None`` when *creating* means "no API key" (stored as ``''``); ``owner=None`` when
*reading* means "any owner" (internal callers such as the worker).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypedDict, Unpack

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vidgate.clock import utcnow
from vidgate.db.base import new_job_id
from vidgate.db.dialect import advisory_key, advisory_lock, claim_due, for_update
from vidgate.db.engine import Transactions
from vidgate.errors import Conflict, InternalError, NotFound, RequestError, ValidationFailed
from vidgate.jobs.group_commit import GroupCommit
from vidgate.jobs.models import NO_OWNER, Attempt, Job, JobEvent
from vidgate.jobs.status import ACTIVE_STATUSES, Status
from vidgate.settings import DEFAULTS

__all__ = [
    "CreatedJob",
    "JobChanges",
    "JobPage",
    "JobStore",
    "StaleJob",
    "SubmitSlots",
    "hash_request",
]

# Any constant: it only has to be the same in every vidgate process.
_PG_EVENT_LOCK = 0x76_67_65_76_65_6E_74  # "vgevent"
# The advisory lock begin_submission holds per model: this prefix and the model, hashed.
_SUBMIT_LOCK = "vidgate-submit:"
_CURSOR = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_ORM_UPDATE = {"synchronize_session": False, "populate_existing": True}


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


class CreatedJob(NamedTuple):
    """What :meth:`JobStore.create_job` returns."""

    job: Job
    #: True when an earlier request with the same idempotency key made the job.
    existing: bool


class SubmitSlots(NamedTuple):
    """What :meth:`JobStore.begin_submission` counted for a model, across every worker."""

    #: Upstream tasks alive now: jobs submitting, or running or throttled with a task.
    active: int
    #: Upstream creates (attempts) since the ``since`` given.
    created_since: int


class JobPage(NamedTuple):
    """One page of :meth:`JobStore.list_jobs`, newest first."""

    jobs: list[Job]
    #: Pass back as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None


class JobChanges(TypedDict, total=False):
    """The columns :meth:`JobStore.update_job` may change (the rest are fixed at creation)."""

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
    cancel_requested: bool
    parent_id: str | None
    segment_index: int | None
    webhook_url: str | None


_CHANGEABLE = JobChanges.__optional_keys__


def hash_request(endpoint: str, request: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of endpoint + request: equal bodies, equal hashes."""
    canonical = json.dumps(
        {"endpoint": endpoint, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _event_data(job: Job) -> dict[str, Any]:
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


#: A check run in a new job's transaction before its insert; raising refuses the job.
Admission = Callable[[AsyncSession, datetime], Awaitable[None]]


@dataclass(frozen=True)
class _NewJob:
    """A job waiting for its group commit (:meth:`JobStore.create_job`'s arguments)."""

    endpoint: str
    model: str
    request: dict[str, Any]
    request_hash: str
    owner: str
    idempotency_key: str | None
    estimated_credits: float | None
    webhook_url: str | None
    deadline_at: datetime | None
    parent_id: str | None
    segment_index: int | None
    run_at: datetime
    now: datetime
    admit: Admission | None

    def row(self) -> dict[str, Any]:
        """The job's columns, as inserted."""
        return dict(
            id=new_job_id(),
            owner=self.owner,
            idempotency_key=self.idempotency_key,
            request_hash=self.request_hash,
            endpoint=self.endpoint,
            model=self.model,
            request=self.request,
            status=Status.QUEUED,
            progress=0.0,
            attempt=1,
            estimated_credits=self.estimated_credits,
            next_run_at=self.run_at,
            deadline_at=self.deadline_at,
            poll_count=0,
            created_at=self.now,
            updated_at=self.now,
            cancel_requested=False,
            parent_id=self.parent_id,
            segment_index=self.segment_index,
            version=1,
            webhook_url=self.webhook_url,
        )


class JobStore:
    """Jobs, attempts and events in one SQL database (SQLite or PostgreSQL).

    Methods return detached ORM objects: snapshots to read, not to modify. Every method is one
    short transaction, committed before it returns. Times default to now (UTC); pass ``now`` to
    control the clock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing
        self._new_jobs: GroupCommit[_NewJob, CreatedJob] = GroupCommit(self._write_new_jobs)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # -- transactions ------------------------------------------------------------------------

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
        await advisory_lock(session, _PG_EVENT_LOCK)
        session.add(
            JobEvent(
                job_id=job.id, owner=job.owner, type=type_, data=_event_data(job), created_at=now
            )
        )
        await session.flush()

    # -- jobs ---------------------------------------------------------------------------------

    async def create_job(
        self,
        *,
        endpoint: str,
        model: str,
        request: Mapping[str, Any],
        owner: str | None = None,
        idempotency_key: str | None = None,
        estimated_credits: float | None = None,
        webhook_url: str | None = None,
        deadline_at: datetime | None = None,
        parent_id: str | None = None,
        segment_index: int | None = None,
        run_at: datetime | None = None,
        now: datetime | None = None,
        admit: Admission | None = None,
    ) -> CreatedJob:
        """Store a new queued job, committed before this returns.

        With an ``idempotency_key``, a repeat of the same (owner, key) and the same request
        returns the first job with ``existing=True``; the same key with another request raises
        :class:`~vidgate.errors.Conflict`. ``run_at`` delays the first run (default: now).
        ``admit(session, now)`` runs inside the insert's transaction, after the idempotency check;
        raising a :class:`~vidgate.errors.RequestError` refuses the job (budgets reserve credits
        this way, see :mod:`vidgate.tenancy.budgets`).

        Concurrent calls share one transaction (:mod:`vidgate.jobs.group_commit`); each still
        gets its own answer, and its own error.
        """
        now = now or utcnow()
        new = _NewJob(
            endpoint=endpoint,
            model=model,
            request=dict(request),
            request_hash=hash_request(endpoint, request),
            owner=owner or NO_OWNER,
            idempotency_key=idempotency_key,
            estimated_credits=estimated_credits,
            webhook_url=webhook_url,
            deadline_at=deadline_at,
            parent_id=parent_id,
            segment_index=segment_index,
            run_at=run_at or now,
            now=now,
            admit=admit,
        )
        return await self._new_jobs.submit(new)

    async def _write_new_jobs(self, batch: Sequence[_NewJob]) -> list[CreatedJob | Exception]:
        try:
            async with self._writing() as session:
                return await self._insert_new_jobs(session, batch)
        except IntegrityError:
            # Another process stored one of these idempotency keys between our read and our
            # insert, and the whole transaction rolled back: store each job on its own.
            return [await self._write_new_job_alone(new) for new in batch]

    async def _write_new_job_alone(self, new: _NewJob) -> CreatedJob | Exception:
        for attempt in range(2):
            try:
                async with self._writing() as session:
                    return (await self._insert_new_jobs(session, [new]))[0]
            except IntegrityError as exc:
                # A concurrent create with the same key won the race: go back and read it.
                if new.idempotency_key is None or attempt > 0:
                    return InternalError(f"could not store the job: {exc.orig}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _insert_new_jobs(
        self, session: AsyncSession, batch: Sequence[_NewJob]
    ) -> list[CreatedJob | Exception]:
        by_key = await self._jobs_by_idempotency_key(session, batch)
        outcomes: list[CreatedJob | Exception] = []
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for new in batch:
            key = (new.owner, new.idempotency_key)
            earlier = by_key.get(key) if new.idempotency_key is not None else None
            try:
                if earlier is not None:
                    outcomes.append(self._existing(earlier, new.request_hash))
                    continue
                if new.admit is not None:
                    # Budgets count this batch's earlier jobs in memory (vidgate.tenancy.budgets).
                    await new.admit(session, new.now)
            except RequestError as exc:
                outcomes.append(exc)
                continue
            row = new.row()
            job = Job(**row)
            rows.append(row)
            events.append(
                {
                    "job_id": job.id,
                    "owner": job.owner,
                    "type": "created",
                    "data": _event_data(job),
                    "created_at": job.created_at,
                }
            )
            if new.idempotency_key is not None:
                by_key[key] = job  # a repeat later in this same batch
            outcomes.append(CreatedJob(job, existing=False))
        if rows:
            await self._insert_created(session, rows, events)
        return outcomes

    async def _insert_created(
        self, session: AsyncSession, rows: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        """The batch's jobs and their "created" events, one multi-row INSERT each.

        Plain INSERTs, not the unit of work: for a batch of new rows it would cost more than the
        SQL (the returned ``Job`` objects are snapshots that no session tracks, as elsewhere).
        """
        await session.execute(insert(Job), rows)
        # Held until commit: event ids become visible in the order they were allocated.
        await advisory_lock(session, _PG_EVENT_LOCK)
        await session.execute(insert(JobEvent), events)

    @staticmethod
    async def _jobs_by_idempotency_key(
        session: AsyncSession, batch: Sequence[_NewJob]
    ) -> dict[tuple[str, str | None], Job]:
        """The stored jobs that hold the (owner, idempotency key) pairs of ``batch``."""
        keys: dict[str, set[str]] = {}
        for new in batch:
            if new.idempotency_key is not None:
                keys.setdefault(new.owner, set()).add(new.idempotency_key)
        if not keys:
            return {}
        # One query, per owner so the (owner, idempotency_key) unique index serves it.
        stmt = select(Job).where(
            or_(
                *(
                    (Job.owner == owner) & Job.idempotency_key.in_(sorted(owned))
                    for owner, owned in keys.items()
                )
            )
        )
        return {(job.owner, job.idempotency_key): job for job in await session.scalars(stmt)}

    @staticmethod
    def _existing(job: Job, request_hash: str) -> CreatedJob:
        if job.request_hash != request_hash:
            raise Conflict(
                f"idempotency key {job.idempotency_key!r} was already used for another request "
                f"(job {job.id})"
            )
        return CreatedJob(job, existing=True)

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
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first; ``owner=None`` lists every owner's jobs.

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
        if cursor is not None:
            if not _CURSOR.match(cursor):
                raise ValidationFailed.single("cursor", "not a cursor returned by this API")
            stmt = stmt.where(Job.id < cursor)
        async with self._reading() as session:
            jobs = list(await session.scalars(stmt))
        if len(jobs) > limit:
            return JobPage(jobs[:limit], next_cursor=jobs[limit - 1].id)
        return JobPage(jobs, next_cursor=None)

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
        now = now or utcnow()
        async with self._writing() as session:
            return await claim_due(
                session,
                Job,
                worker_id=worker_id,
                now=now,
                lease_seconds=lease_seconds,
                limit=limit,
                due_at=Job.next_run_at,
                where=[Job.status.in_(list(ACTIVE_STATUSES))],
                values={"version": Job.version + 1},
            )

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
            .execution_options(**_ORM_UPDATE)
        )
        updated = (await session.scalars(stmt)).one_or_none()
        if updated is None:  # pragma: no cover - the row is locked; kept as a guard
            raise StaleJob(job_id, expected_version, -1)
        if event_type is None:
            if updated.status != before[0]:
                event_type = "status"
            elif updated.progress != before[1]:
                event_type = "progress"
        if event_type is not None:
            await self._append_event(session, updated, event_type, now)
        return updated

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
                .where(
                    Job.model == job.model,
                    Job.id != job.id,
                    or_(
                        Job.status == Status.SUBMITTING,
                        Job.status.in_([Status.RUNNING, Status.THROTTLED])
                        & Job.task_id.is_not(None),
                    ),
                )
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

    # -- attempts -----------------------------------------------------------------------------

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

    async def list_attempts(self, job_id: str) -> list[Attempt]:
        """A job's attempts, first to last."""
        stmt = select(Attempt).where(Attempt.job_id == job_id).order_by(Attempt.number)
        async with self._reading() as session:
            return list(await session.scalars(stmt))

    # -- events -------------------------------------------------------------------------------

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
