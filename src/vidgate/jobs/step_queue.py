"""Job steps as procrastinate tasks: how several processes share the work on PostgreSQL.

The job row stays the truth (status, next run time, version); procrastinate carries "run the next
step of job X at time T" between processes. Each step is one short task:

- ``lock=<job id>``: procrastinate never runs two steps of one job at once, in any process;
- ``queueing_lock=<job id>``: at most one step of a job waits in the queue; asking again for an
  earlier time (a cancel, a new job) moves the waiting one forward instead of adding another;
- after a step, the task defers the job's next step at the ``next_run_at`` the step wrote.

A worker killed with ``kill -9`` stops sending heartbeats. Every worker runs a recovery loop beside
its steps (never queued behind them, so a backlog cannot delay it): once a tick it ends the steps
a worker silent for ``stall_seconds`` left in ``doing`` and defers them again, ahead of the
backlog; it also defers any active job that has no step waiting (the API process died between
storing a job and deferring it). Several workers recovering at once is harmless: ending a step
twice fails for the second, and deferring is idempotent. The job row's compare-and-set
version keeps a worker that was only slow, not dead, from overwriting the new owner's work.

SQLite (the embedded default) has no procrastinate connector; there
:class:`vidgate.pipeline.worker.Worker` claims due rows directly, in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate import jobs as procrastinate_jobs
from sqlalchemy import bindparam, make_url, text

from vidgate.clock import utcnow
from vidgate.jobs.models import Job
from vidgate.jobs.status import ACTIVE_STATUSES
from vidgate.jobs.store import JobStore, StaleJob

__all__ = [
    "QUEUE",
    "QueueTimings",
    "StepQueue",
    "StepRunner",
    "libpq_url",
]

log = logging.getLogger("vidgate.jobs.step_queue")

QUEUE = "vidgate"
STEP_TASK = "vidgate.step"
# The steps recovery takes over run ahead of the backlog of ordinary steps: a burst of new jobs
# must not delay the jobs a dead worker left behind.
RECOVERY_PRIORITY = 10
# An API process defers a job's first step right after storing it; only a job older than this
# without a step is an orphan.
ORPHAN_GRACE_SECONDS = 5.0
# A waiting step asked for again sooner is moved forward, never back.
_MOVE_FORWARD = """
UPDATE procrastinate_jobs
   SET scheduled_at = LEAST(scheduled_at, %(at)s), priority = GREATEST(priority, %(priority)s)
 WHERE queueing_lock = %(lock)s AND status = 'todo'
   AND (scheduled_at > %(at)s OR priority < %(priority)s)
"""
# Active jobs with no step waiting or running: lost between the job's insert and its defer.
_ORPHANS = text(
    """
SELECT j.id FROM jobs j
 WHERE j.status IN :active AND j.created_at <= :cutoff
   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs p
                    WHERE p.queueing_lock = j.id AND p.status IN ('todo', 'doing'))
 LIMIT :limit
"""
).bindparams(bindparam("active", expanding=True))


def libpq_url(database_url: str) -> str:
    """``postgresql+asyncpg://u@h/db?ssl=x`` -> ``postgresql://u@h/db?sslmode=x`` for psycopg."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("procrastinate needs a PostgreSQL database URL")
    query = dict(parsed.query)
    if "ssl" in query:
        query["sslmode"] = query.pop("ssl")
    return parsed.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


@dataclass(frozen=True)
class QueueTimings:
    """How fast steps start and how soon a dead worker's steps are taken over."""

    poll_seconds: float = 0.5  # fallback polling; LISTEN/NOTIFY starts new steps at once
    heartbeat_seconds: float = 2.0
    stall_seconds: float = 10.0  # no heartbeat for this long: the worker is dead
    recover_every_seconds: float = 1.0

    @classmethod
    def from_lease(cls, lease_seconds: float) -> QueueTimings:
        """``VIDGATE_LEASE_SECONDS`` means the same in both modes: silent this long, dead."""
        return cls(
            heartbeat_seconds=lease_seconds / 5,
            stall_seconds=lease_seconds,
            recover_every_seconds=min(1.0, lease_seconds / 5),
        )

    @property
    def recovery_bound_seconds(self) -> float:
        """The longest a dead worker's job waits before another worker runs its step."""
        return self.stall_seconds + self.recover_every_seconds + self.poll_seconds + 1.0


class StepRunner(Protocol):
    """What runs a job's next step (the pipeline); the queue only decides when and where."""

    async def step(self, job: Job) -> Job: ...


class StepQueue:
    """The procrastinate app of one vidgate process: defers steps, and runs them as a worker."""

    def __init__(
        self,
        database_url: str,
        store: JobStore,
        pipeline: StepRunner | None = None,
        *,
        timings: QueueTimings | None = None,
        connections: int = 4,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.timings = timings or QueueTimings()
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_url(database_url), min_size=1, max_size=max(connections, 2)
        )
        self.app = procrastinate.App(connector=connector)
        self.app.task(name=STEP_TASK, queue=QUEUE)(self._run_step)

    async def __aenter__(self) -> StepQueue:
        await self.app.open_async()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.app.close_async()

    # --- deferring ---------------------------------------------------------------------------

    async def schedule(self, job_id: str, at: datetime | None = None, *, priority: int = 0) -> None:
        """Run the job's next step at ``at`` (default now), or sooner if one already waits."""
        at = at or utcnow()
        deferrer = self.app.configure_task(
            STEP_TASK,
            queue=QUEUE,
            lock=job_id,
            queueing_lock=job_id,
            schedule_at=at,
            priority=priority,
        )
        try:
            await deferrer.defer_async(job_id=job_id)
        except procrastinate_errors.AlreadyEnqueued:
            await self.app.connector.execute_query_async(
                _MOVE_FORWARD, at=at, lock=job_id, priority=priority
            )

    # --- working -----------------------------------------------------------------------------

    async def run_worker(
        self, *, concurrency: int, name: str = "vidgate", runner: StepRunner | None = None
    ) -> None:
        """Run steps until cancelled; a cancelled worker finishes the steps it has started.

        ``runner`` runs them (default: the one given at construction): a runtime makes its queue
        before its pipeline, whose steps defer through the queue.
        """
        if runner is not None:
            self.pipeline = runner
        recovering = asyncio.create_task(self._recover_forever())
        try:
            await self._run_steps(concurrency=concurrency, name=name)
        finally:
            recovering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovering

    async def _run_steps(self, *, concurrency: int, name: str) -> None:
        await self.app.run_worker_async(
            queues=[QUEUE],
            concurrency=concurrency,
            name=name,
            wait=True,
            install_signal_handlers=False,
            fetch_job_polling_interval=self.timings.poll_seconds,
            update_heartbeat_interval=self.timings.heartbeat_seconds,
            stalled_worker_timeout=self.timings.stall_seconds,
            delete_jobs="successful",
        )

    async def _run_step(self, job_id: str) -> None:
        assert self.pipeline is not None, "an API-only process defers steps, never runs them"
        job = await self.store.get_job(job_id)
        if job.status.is_terminal:
            return
        now = utcnow()
        if job.next_run_at is not None and _aware(job.next_run_at) > now + timedelta(seconds=1):
            # Deferred too early (a recovered step): wait for the time the job asked for.
            await self.schedule(job.id, _aware(job.next_run_at))
            return
        try:
            job = await self.pipeline.step(job)
        except StaleJob:
            job = await self.store.get_job(job_id)  # someone else moved it on; follow the row
        if not job.status.is_terminal:
            await self.schedule(job.id, _aware(job.next_run_at))

    # --- recovery ----------------------------------------------------------------------------

    async def _recover_forever(self) -> None:
        while True:
            await asyncio.sleep(self.timings.recover_every_seconds)
            try:
                await self.recover()
            except procrastinate_errors.ConnectorException:
                log.exception("recovery failed; trying again next tick")

    async def recover(self) -> None:
        """End the steps of dead workers and defer every active job that has no step."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE,
            task_name=STEP_TASK,
            seconds_since_heartbeat=self.timings.stall_seconds,
        )
        for step in stalled:
            assert step.id is not None
            try:
                await manager.finish_job_by_id_async(
                    step.id, status=procrastinate_jobs.Status.FAILED, delete_job=True
                )
            except procrastinate_errors.ConnectorException:
                continue  # another worker's recovery ended it first
            log.warning("took over job %s from a dead worker", step.queueing_lock)
            if step.queueing_lock:
                await self.schedule(step.queueing_lock, priority=RECOVERY_PRIORITY)
        for job_id in await self._orphans():
            await self.schedule(job_id, priority=RECOVERY_PRIORITY)

    async def _orphans(self, *, limit: int = 500) -> list[str]:
        # A grace period lets an API process finish deferring the job it has just stored.
        cutoff = utcnow() - timedelta(seconds=ORPHAN_GRACE_SECONDS)
        active = [status.value for status in ACTIVE_STATUSES]
        async with self.store.engine.connect() as connection:
            rows = await connection.scalars(
                _ORPHANS, {"active": active, "cutoff": cutoff, "limit": limit}
            )
            return list(rows.all())


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
