"""The worker loop of one process: claim due jobs, run their steps, renew the leases.

Used where there is no shared step queue (SQLite, the embedded default): the worker claims due rows
directly (a lease), runs one step of each through the :class:`vidgate.pipeline.steps.Pipeline`,
and looks again when a step ends, a job is submitted (:meth:`Worker.wake`) or an idle pause runs
out. A heartbeat renews the leases of the steps in flight, so only a dead worker's jobs are taken
over once their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from vidgate.clock import utcnow
from vidgate.jobs.models import Job
from vidgate.jobs.store import StaleJob
from vidgate.jobs.wake import Wakeup, run_rounds
from vidgate.pipeline.context import aware
from vidgate.pipeline.runner import Pipeline
from vidgate.settings import DEFAULTS

__all__ = ["Worker", "default_worker_id"]

log = logging.getLogger("vidgate.pipeline.worker")


def default_worker_id() -> str:
    """A name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims due jobs and runs their steps, many at once, in one process."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        worker_id: str | None = None,
        concurrency: int = DEFAULTS.worker_concurrency,
        idle_seconds: float = 0.25,
        # A claim lasts this long unless the heartbeat renews it; then a dead worker's jobs are
        # claimable again.
        lease_seconds: float = DEFAULTS.lease_seconds,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.worker_id = worker_id or default_worker_id()
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._running: dict[asyncio.Task[None], str] = {}
        #: Set when a job is stored or made due in this process (the runtime shares it).
        self.wakeup = wakeup or Wakeup()
        self._idle = idle_seconds
        self.lease_seconds = lease_seconds

    def wake(self) -> None:
        """Look for due jobs now (a new job was submitted)."""
        self.wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            await run_rounds(self.run_once, stop=stop, wakeup=self.wakeup, idle_seconds=self._idle)
            await self.drain()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def run_once(self) -> int:
        free = self._concurrency - len(self._running)
        if free <= 0:
            await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
            return 0
        jobs = await self.pipeline.store.claim_due_jobs(
            self.worker_id, limit=min(free, 200), lease_seconds=self.lease_seconds
        )
        for job in jobs:
            task = asyncio.create_task(self._run_step(job))
            self._running[task] = job.id
            task.add_done_callback(self._step_done)
        return len(jobs)

    def _step_done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)

    async def drain(self) -> None:
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Renew the leases of the steps in flight, so only a dead worker's jobs are taken over."""
        while not stop.is_set():
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.pipeline.store.extend_leases(
                    self.worker_id, list(self._running.values()), lease_seconds=self.lease_seconds
                )
            except Exception:
                log.exception("lease heartbeat failed; leases may run out")

    async def _run_step(self, job: Job) -> None:
        async with self._slots:
            try:
                done = await self.pipeline.step(job)
            except StaleJob:
                # A cancel request is acted on inside the step (Pipeline.step); this is a takeover.
                log.info("job %s was taken over by another worker; leaving it to it", job.id)
                return
            except Exception:
                # A bug must not kill the worker: the lease runs out and the step is retried.
                log.exception("job %s: step failed", job.id)
                return
        if not done.status.is_terminal and aware(done.next_run_at) <= utcnow():
            self.wakeup.set()  # due again now (a chain's next segment): no idle pause first
