"""Storing new jobs: idempotency keys, the SDK-retry match, admission checks (budgets), and the
group commit.

Concurrent creates share one transaction (:mod:`vidgate.jobs.group_commit`); each still gets its
own answer, and its own error.

The SDK-retry match is :mod:`vidgate.jobs.sdk_retries`'s, made in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vidgate.clock import utcnow
from vidgate.db.base import new_job_id
from vidgate.db.dialect import advisory_lock
from vidgate.errors import Conflict, InternalError, RequestError
from vidgate.jobs.group_commit import GroupCommit
from vidgate.jobs.models import NO_OWNER, Job, JobEvent
from vidgate.jobs.sdk_retries import (
    SdkAttempt,
    SdkKey,
    jobs_by_sdk_key,
    release_sdk_key,
    settle_original,
)
from vidgate.jobs.status import Status
from vidgate.jobs.versioned import PG_EVENT_LOCK, JobTable, event_data, transitions

__all__ = ["Admission", "CreatedJob", "JobCreation", "hash_request"]

# Attempts at storing one job whose key another transaction took between our read and our insert.
_KEYED_ATTEMPTS = 3


class CreatedJob(NamedTuple):
    """What :meth:`~vidgate.jobs.store.JobStore.create_job` returns."""

    job: Job
    #: True when an earlier request with the same idempotency key made the job.
    existing: bool


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


#: A check run in a new job's transaction before its insert; raising refuses the job.
Admission = Callable[[AsyncSession, datetime], Awaitable[None]]


@dataclass(frozen=True)
class _NewJob:
    """A job waiting for its group commit (the arguments of
    :meth:`~vidgate.jobs.store.JobStore.create_job`)."""

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
    sdk: SdkAttempt | None = None

    @property
    def sdk_key(self) -> SdkKey | None:
        """The (owner, key) this job holds in the SDK-retry match, if it takes part."""
        if self.sdk is None or self.idempotency_key is not None:
            return None  # an Idempotency-Key is the caller's own match
        return (self.owner, self.request_hash)

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
            sdk_request_key=self.request_hash if self.sdk_key else None,
            sdk_original_pending=bool(self.sdk_key and self.sdk and self.sdk.retry),
        )


class JobCreation(JobTable):
    """:meth:`create_job`, and the group commit behind it."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._new_jobs: GroupCommit[_NewJob, CreatedJob] = GroupCommit(self._write_new_jobs)

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
        sdk: SdkAttempt | None = None,
    ) -> CreatedJob:
        """Store a new queued job, committed before this returns.

        With an ``idempotency_key``, a repeat of the same (owner, key) and the same request
        returns the first job with ``existing=True``; the same key with another request raises
        :class:`~vidgate.errors.Conflict`. ``run_at`` delays the first run (default: now).
        ``admit(session, now)`` runs inside the insert's transaction, after the idempotency check;
        raising a :class:`~vidgate.errors.RequestError` refuses the job (budgets reserve credits
        this way, see :mod:`vidgate.tenancy.budgets`). ``sdk`` (without an idempotency key) puts
        the create through the SDK-retry match (the module's docstring): a match answers the job
        it matched with ``existing=True``, and reserves nothing.

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
            sdk=sdk,
        )
        return await self._new_jobs.submit(new)

    async def find_sdk_match(
        self,
        *,
        endpoint: str,
        request: Mapping[str, Any],
        owner: str | None,
        sdk: SdkAttempt,
        now: datetime | None = None,
    ) -> Job | None:
        """The job :meth:`create_job` would answer this SDK create with, if any (a read only:
        for answering a retry while new jobs are refused)."""
        stmt = select(Job).where(
            Job.owner == (owner or NO_OWNER),
            Job.sdk_request_key == hash_request(endpoint, request),
        )
        async with self._reading() as session:
            held = await session.scalar(stmt)
        return held if held is not None and sdk.answers(held, now or utcnow()) else None

    async def _write_new_jobs(self, batch: Sequence[_NewJob]) -> list[CreatedJob | Exception]:
        try:
            async with self._writing() as session:
                return await self._insert_new_jobs(session, batch)
        except IntegrityError:
            # Another process stored one of these idempotency or SDK-retry keys between our read
            # and our insert, and the whole transaction rolled back: store each job on its own.
            return [await self._write_new_job_alone(new) for new in batch]

    async def _write_new_job_alone(self, new: _NewJob) -> CreatedJob | Exception:
        keyed = new.idempotency_key is not None or new.sdk_key is not None
        for attempt in range(_KEYED_ATTEMPTS):
            try:
                async with self._writing() as session:
                    return (await self._insert_new_jobs(session, [new]))[0]
            except IntegrityError as exc:
                # A concurrent create with the same key won the race: go back and read it.
                if not keyed or attempt == _KEYED_ATTEMPTS - 1:
                    return InternalError(f"could not store the job: {exc.orig}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _insert_new_jobs(
        self, session: AsyncSession, batch: Sequence[_NewJob]
    ) -> list[CreatedJob | Exception]:
        by_key = await self._jobs_by_idempotency_key(session, batch)
        by_sdk_key = await jobs_by_sdk_key(session, [n.sdk_key for n in batch])
        outcomes: list[CreatedJob | Exception] = []
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        batch_rows: dict[str, dict[str, Any]] = {}  # this batch's new rows, by job id
        for new in batch:
            key = (new.owner, new.idempotency_key)
            earlier = by_key.get(key) if new.idempotency_key is not None else None
            sdk_key = new.sdk_key
            held = by_sdk_key.get(sdk_key) if sdk_key is not None else None
            try:
                if earlier is not None:
                    outcomes.append(self._existing(earlier, new.request_hash))
                    continue
                if sdk_key and held and new.sdk and new.sdk.answers(held, new.now):
                    if not new.sdk.retry:  # the retry's original, seen now: it answers it once
                        held = by_sdk_key[sdk_key] = await settle_original(
                            session, held, batch_rows
                        )
                    outcomes.append(CreatedJob(held, existing=True))
                    continue
                if new.admit is not None:
                    # Budgets count this batch's earlier jobs in memory (vidgate.tenancy.budgets).
                    await new.admit(session, new.now)
            except RequestError as exc:
                outcomes.append(exc)
                continue
            if held is not None:
                await release_sdk_key(session, held, batch_rows)
            row = new.row()
            job = Job(**row)
            rows.append(row)
            batch_rows[job.id] = row
            events.append(
                {
                    "job_id": job.id,
                    "owner": job.owner,
                    "type": "created",
                    "data": event_data(job),
                    "created_at": job.created_at,
                }
            )
            if new.idempotency_key is not None:
                by_key[key] = job  # a repeat later in this same batch
            if sdk_key is not None:
                by_sdk_key[sdk_key] = job
            outcomes.append(CreatedJob(job, existing=False))
            transitions.info("job %s created", job.id, extra={"job": job})
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
        await advisory_lock(session, PG_EVENT_LOCK)
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
