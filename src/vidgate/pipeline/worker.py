"""The pipeline: submit -> poll -> download -> store, one short step per run, rescheduled.

A job is a row with its next run time, never a sleeping coroutine: a worker claims due jobs (a
lease), runs one step of each, and writes back the job with when it wants to run next. Anything the
worker knew in memory is also in the row, so a crash at any point loses nothing: the next claim of
the job picks up where the row says it stands.

Exactly once: the intent to create is recorded (status ``submitting`` and an attempt without a task
id) before the create call, the task id right after it. A job found in ``submitting`` after a crash,
or a create whose outcome is unknown (dropped connection, 500), is never resent: Runway takes no
idempotency key, so resending could pay twice. It fails with ``SUBMISSION_UNCERTAIN`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vidgate.catalog import Catalog
from vidgate.clock import utcnow
from vidgate.errors import (
    MediaRejected,
    NotFound,
    OutputExpired,
    ProviderRefused,
    SubmissionUncertain,
    TransientFault,
    ValidationFailed,
)
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore, StaleJob
from vidgate.media.probe import MediaInfo, probe_media, save_poster
from vidgate.pipeline.chain import ChainSteps
from vidgate.pipeline.polling import PollCadence
from vidgate.provider.base import Provider, TaskSnapshot, TaskStatus
from vidgate.provider.limits import ProviderLimits
from vidgate.requests.chain_plan import CHAIN_ENDPOINT
from vidgate.requests.generation import GenerationRequest, validate_request
from vidgate.settings import DEFAULTS
from vidgate.storage import Storage, StoredObject

__all__ = ["FailureCode", "Pipeline", "Worker", "classify_failure"]

log = logging.getLogger("vidgate.pipeline.worker")

# Downloads that fail for a passing reason are tried this many times before the job fails.
DOWNLOAD_ATTEMPTS = 5
DEFAULT_TIMEOUT_FACTOR = 10.0  # a job may take this many times its model's expected run time
MIN_TIMEOUT_SECONDS = 600.0


class FailureCode:
    """The ``failure_code`` values vidgate itself sets (provider codes are passed through)."""

    SUBMISSION_UNCERTAIN = "SUBMISSION_UNCERTAIN"
    TIMEOUT = "TIMEOUT"
    PROVIDER_REFUSED = "PROVIDER_REFUSED"
    TASK_VANISHED = "TASK_VANISHED"
    CANCELLED_UPSTREAM = "CANCELLED_UPSTREAM"
    DOWNLOAD_FAILED = "DOWNLOAD_FAILED"
    INVALID_REQUEST = "INVALID_REQUEST"


def classify_failure(code: str | None) -> str:
    """'final' for failures a new task cannot fix, 'retry' for the provider's own faults."""
    if code and code.upper().startswith("INTERNAL"):
        return "retry"
    return "final"  # SAFETY.*, INPUT_PREPROCESSING.*, ASSET.INVALID, unknown codes


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every time vidgate stores is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class Pipeline:
    """The steps of one job, each short, each ending with the job written back."""

    store: JobStore
    provider: Provider
    storage: Storage
    catalog: Catalog
    cadence: PollCadence
    internal_retry_limit: int = DEFAULTS.internal_retry_limit
    # Creates in flight at once: each one is a window in which a crash leaves an outcome unknown.
    submit_concurrency: int = DEFAULTS.submit_concurrency
    clock: Callable[[], datetime] = utcnow
    #: The provider's tier limits, kept before each create (None: read from ``provider``).
    provider_limits: ProviderLimits | None = None
    #: Called with a job id when a step makes another job due now (a chain's next segment, a
    #: segment to cancel), so that whoever runs steps picks it up at once.
    job_due: Callable[[str], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self._submitting = asyncio.Semaphore(self.submit_concurrency)
        self._limits = self.provider_limits or ProviderLimits(self.provider)
        self._chain = ChainSteps(self)

    @property
    def limits(self) -> ProviderLimits:
        """The tier limits every create is checked against (``GET /v1/usage`` shows them)."""
        return self._limits

    async def step(self, job: Job) -> Job:
        """Run the step the job's status calls for; returns the job as written back."""
        if job.endpoint == CHAIN_ENDPOINT:
            return await self._chain.step(job)  # a chain's parent: its segments are jobs too
        handler: Callable[[Job], Awaitable[Job]] = {
            Status.QUEUED: self._submit,
            Status.SUBMITTING: self._reconcile_submission,
            Status.THROTTLED: self._poll,
            Status.RUNNING: self._poll,
            Status.DOWNLOADING: self._download,
        }[job.status]
        return await handler(job)

    # --- submit ------------------------------------------------------------------------------

    async def _submit(self, job: Job) -> Job:
        now = self.clock()
        if job.cancel_requested:
            return await self.finish(job, Status.CANCELLED, reason="cancelled before submission")
        if self._deadline_passed(job, now):
            return await self.finish(
                job,
                Status.FAILED,
                reason="timed out before it could be submitted",
                failure_code=FailureCode.TIMEOUT,
            )
        try:
            request = validate_request(job.endpoint, job.request, catalog=self.catalog)
        except ValidationFailed as exc:
            return await self.finish(
                job, Status.FAILED, reason=str(exc), failure_code=FailureCode.INVALID_REQUEST
            )
        async with self._submitting:
            return await self._send_create(job, request, now)

    async def _send_create(self, job: Job, request: GenerationRequest, now: datetime) -> Job:
        # The intent (status and attempt) is durable before the call: a crash from here on is
        # reconciled, not resent. The same write takes a tier slot, counted across all workers.
        estimate = job.estimated_credits
        if estimate is None:  # a job made outside the API gets the catalog's estimate here
            estimate = self.catalog.estimate_cost(
                request.model, duration=request.duration_seconds, endpoint=request.endpoint
            ).high
        job, waiting = await self._limits.begin_submission(
            self.store,
            job,
            status_reason=f"creating attempt {job.attempt} upstream",
            estimated_credits=estimate,
        )
        if waiting is not None:
            return await self.store.release(job, waiting.retry_at, status_reason=waiting.reason)
        try:
            created = await self.provider.create_task(request)
        except TransientFault as exc:
            # Refused before any task was made (429, load shedding): safe to try again later.
            delay = exc.retry_after or self.cadence.min_seconds * 5
            await self.store.finish_attempt(
                job.id, job.attempt, status=Status.QUEUED, failure_message=str(exc)
            )
            return await self.store.release(
                job,
                now + timedelta(seconds=delay),
                status=Status.QUEUED,
                status_reason=f"waiting to submit: {exc}",
            )
        except SubmissionUncertain as exc:
            return await self._uncertain(job, str(exc))
        except (ProviderRefused, ValidationFailed, MediaRejected) as exc:
            await self.store.finish_attempt(
                job.id,
                job.attempt,
                status=Status.FAILED,
                failure_code=FailureCode.PROVIDER_REFUSED,
                failure_message=str(exc),
            )
            return await self.finish(
                job, Status.FAILED, reason=str(exc), failure_code=FailureCode.PROVIDER_REFUSED
            )
        submitted = self.clock()
        await self.store.record_attempt(
            job.id, job.attempt, task_id=created.id, status=Status.RUNNING
        )
        model = self.catalog.model(job.model) if job.model in self.catalog else None
        first_poll = self.cadence.next_delay(
            job.model, elapsed=0.0, speed=model.speed if model else "standard"
        )
        return await self.store.release(
            job,
            submitted + timedelta(seconds=first_poll),
            status=Status.RUNNING,
            status_reason="submitted",
            task_id=created.id,
            submitted_at=submitted,
            estimated_credits=created.estimated_credits or job.estimated_credits,
            deadline_at=job.deadline_at or submitted + self._timeout(job.model),
        )

    async def _reconcile_submission(self, job: Job) -> Job:
        """Only a crash (or a lost lease) leaves a job here; decide from what was recorded."""
        attempts = {a.number: a for a in await self.store.list_attempts(job.id)}
        attempt = attempts.get(job.attempt)
        if attempt is None:
            # The attempt is recorded before the create is sent: without it, nothing was sent.
            return await self.store.release(
                job,
                self.clock(),
                status=Status.QUEUED,
                status_reason="resumed after a restart; the create had not been sent",
            )
        if attempt.task_id is not None:
            # The answer was recorded on the attempt but not yet on the job: carry on polling.
            return await self.store.release(
                job,
                self.clock(),
                status=Status.RUNNING,
                status_reason="resumed after a restart",
                task_id=attempt.task_id,
                submitted_at=job.submitted_at or attempt.created_at,
            )
        return await self._uncertain(
            job, "vidgate stopped while creating the upstream task; its outcome is unknown"
        )

    async def _uncertain(self, job: Job, why: str) -> Job:
        message = (
            f"{why}. Runway takes no idempotency key, so the request was not resent "
            "(that could pay twice); check the provider's task list and submit again if needed."
        )
        await self.store.finish_attempt(
            job.id,
            job.attempt,
            status=Status.FAILED,
            failure_code=FailureCode.SUBMISSION_UNCERTAIN,
            failure_message=message,
        )
        return await self.finish(
            job, Status.FAILED, reason=message, failure_code=FailureCode.SUBMISSION_UNCERTAIN
        )

    # --- poll --------------------------------------------------------------------------------

    async def _poll(self, job: Job) -> Job:
        now = self.clock()
        task_id = job.task_id
        if task_id is None:  # pragma: no cover - a running job always has a task
            return await self._uncertain(job, "the job lost its task id")
        if job.cancel_requested:
            return await self._cancel_upstream(job, Status.CANCELLED, "cancelled by request")
        if self._deadline_passed(job, now):
            seconds = (now - (_aware(job.submitted_at) or now)).total_seconds()
            return await self._cancel_upstream(
                job,
                Status.FAILED,
                f"timed out after {seconds:.0f} s; cancelled upstream",
                failure_code=FailureCode.TIMEOUT,
            )
        try:
            task = await self.provider.get_task(task_id)
        except TransientFault as exc:
            delay = exc.retry_after or self.cadence.max_seconds / 3
            return await self.store.release(
                job, now + timedelta(seconds=delay), status_reason=f"provider unavailable: {exc}"
            )
        except NotFound:
            return await self.finish(
                job,
                Status.FAILED,
                reason="the task no longer exists upstream (deleted outside vidgate)",
                failure_code=FailureCode.TASK_VANISHED,
            )
        return await self._apply(job, task, now)

    async def _apply(self, job: Job, task: TaskSnapshot, now: datetime) -> Job:
        elapsed = (now - (_aware(job.submitted_at) or now)).total_seconds()
        speed = self.catalog.model(job.model).speed if job.model in self.catalog else "standard"
        changes: dict[str, Any] = {"poll_count": job.poll_count + 1}
        if task.estimated_credits is not None:
            changes["estimated_credits"] = task.estimated_credits
        if task.status is TaskStatus.SUCCEEDED:
            self.cadence.observe(job.model, elapsed)
            changes.update(
                status=Status.DOWNLOADING,
                status_reason="storing the output",
                progress=1.0,
                cost_credits=task.cost_credits,
            )
            job = await self.store.update_job(job, expected_version=job.version, **changes)
            return await self._download(job, task)
        if task.status is TaskStatus.FAILED:
            return await self._task_failed(job, task, changes)
        if task.status is TaskStatus.CANCELLED:
            changes["cost_credits"] = task.cost_credits
            return await self.finish(
                job,
                Status.CANCELLED,
                reason="cancelled upstream, outside vidgate",
                failure_code=FailureCode.CANCELLED_UPSTREAM,
                **changes,
            )
        throttled = task.status is TaskStatus.THROTTLED
        if task.status is TaskStatus.UNKNOWN:
            changes["status_reason"] = f"provider reports an unknown status {task.raw_status!r}"
        else:
            changes["status"] = Status.THROTTLED if throttled else Status.RUNNING
            changes["status_reason"] = {
                TaskStatus.THROTTLED: "queued upstream: the model's concurrency limit is full",
                TaskStatus.PENDING: "pending upstream",
                TaskStatus.RUNNING: "generating",
            }[task.status]
        if task.progress is not None:
            changes["progress"] = min(max(task.progress, 0.0), 1.0)
        delay = self.cadence.next_delay(
            job.model, elapsed=elapsed, progress=task.progress, speed=speed, throttled=throttled
        )
        return await self.store.release(job, now + timedelta(seconds=delay), **changes)

    async def _task_failed(self, job: Job, task: TaskSnapshot, changes: dict[str, Any]) -> Job:
        code = task.failure_code or "UNKNOWN"
        message = task.failure or "the provider reported a failure"
        await self.store.finish_attempt(
            job.id, job.attempt, status=Status.FAILED, failure_code=code, failure_message=message
        )
        if classify_failure(code) == "retry" and job.attempt <= self.internal_retry_limit:
            # The provider's own fault: a new task may well succeed. Each attempt is recorded.
            return await self.store.release(
                job,
                self.clock(),
                status=Status.QUEUED,
                status_reason=f"attempt {job.attempt} failed upstream ({code}); trying again",
                attempt=job.attempt + 1,
                task_id=None,
                progress=0.0,
                **changes,
            )
        changes["cost_credits"] = task.cost_credits
        return await self.finish(
            job,
            Status.FAILED,
            reason=message,
            failure_code=code,
            failure_message=message,
            **changes,
        )

    async def _cancel_upstream(
        self, job: Job, status: Status, reason: str, failure_code: str | None = None
    ) -> Job:
        if job.task_id:
            try:
                await self.provider.cancel_task(job.task_id)
            except TransientFault as exc:
                return await self.store.release(
                    job,
                    self.clock() + timedelta(seconds=exc.retry_after or 5),
                    status_reason=f"cancelling upstream: {exc}",
                )
            await self.store.finish_attempt(
                job.id, job.attempt, status=status, failure_code=failure_code
            )
        return await self.finish(job, status, reason=reason, failure_code=failure_code)

    # --- download ----------------------------------------------------------------------------

    async def _download(self, job: Job, task: TaskSnapshot | None = None) -> Job:
        """Copy the output into our storage, whole or not at all; probe it; make a poster."""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                if task is None or not task.output:
                    assert job.task_id is not None
                    task = await self.provider.get_task(job.task_id)
                if task.status is not TaskStatus.SUCCEEDED or not task.output:
                    return await self.finish(
                        job,
                        Status.FAILED,
                        reason=f"the task is {task.raw_status} with no output to store",
                        failure_code=FailureCode.DOWNLOAD_FAILED,
                    )
                return await self._store_output(job, task)
            except OutputExpired:
                # The signed URL expired: fetch the task again for a fresh one, at once the first
                # time, then backing off (expiring again and again points at a clock problem).
                task = None
                if attempt > 1:
                    await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
            except (TransientFault, MediaRejected) as exc:
                log.warning("job %s: download attempt %d failed: %s", job.id, attempt, exc)
                task = None
                await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
            except NotFound:
                break
        return await self.finish(
            job,
            Status.FAILED,
            reason=f"the output could not be stored after {DOWNLOAD_ATTEMPTS} tries",
            failure_code=FailureCode.DOWNLOAD_FAILED,
        )

    async def _store_output(self, job: Job, task: TaskSnapshot) -> Job:
        video_key = f"jobs/{job.id}/video.mp4"
        poster_key = f"jobs/{job.id}/poster.jpg"
        async with self.provider.open_output(task.output[0]) as body:
            stored = await self.storage.save_from(
                video_key, body, length=body.length, content_type="video/mp4"
            )
        async with self.storage.local_copy(video_key) as path:
            info = await asyncio.to_thread(probe_media, path, field="output")
            poster = io.BytesIO()
            await asyncio.to_thread(save_poster, path, poster)
        if info.kind != "video":
            await self.storage.delete(video_key)
            raise MediaRejected.single("output", f"the output is {info.mime_type}, not a video")
        await self.storage.save_bytes(poster_key, poster.getvalue(), content_type="image/jpeg")
        await self.store.finish_attempt(job.id, job.attempt, status=Status.SUCCEEDED)
        return await self.finish(
            job,
            Status.SUCCEEDED,
            reason="stored",
            cost_credits=task.cost_credits,
            **self.output_columns(stored, info, video_key=video_key, poster_key=poster_key),
        )

    @staticmethod
    def output_columns(
        stored: StoredObject, info: MediaInfo, *, video_key: str, poster_key: str
    ) -> dict[str, Any]:
        """What a job records of its stored video: keys, size, hash, and what the probe found."""
        return {
            "output_key": video_key,
            "poster_key": poster_key,
            "output_bytes": stored.size,
            "output_sha256": stored.sha256,
            "output_duration_seconds": info.duration_seconds,
            "output_width": info.width,
            "output_height": info.height,
            "output_codec": info.video_codec,
            "progress": 1.0,
        }

    # --- endings -----------------------------------------------------------------------------

    async def finish(
        self,
        job: Job,
        status: Status,
        *,
        reason: str,
        failure_code: str | None = None,
        **changes: Any,
    ) -> Job:
        """End the job in ``status``; a failure keeps ``reason`` as its message."""
        if failure_code is not None or status is Status.FAILED:
            changes.setdefault("failure_message", reason)
        return await self.store.release(
            job,
            self.clock(),
            status=status,
            status_reason=reason,
            failure_code=failure_code,
            **changes,
        )

    def _deadline_passed(self, job: Job, now: datetime) -> bool:
        deadline = _aware(job.deadline_at)
        return deadline is not None and now >= deadline

    def _timeout(self, model: str) -> timedelta:
        speed = self.catalog.model(model).speed if model in self.catalog else "standard"
        expected = self.cadence.expected_seconds(model, speed)
        return timedelta(seconds=max(expected * DEFAULT_TIMEOUT_FACTOR, MIN_TIMEOUT_SECONDS))


def default_worker_id() -> str:
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
    ) -> None:
        self.pipeline = pipeline
        self.worker_id = worker_id or default_worker_id()
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._running: dict[asyncio.Task[None], str] = {}
        self._wake = asyncio.Event()
        self._idle = idle_seconds
        self.lease_seconds = lease_seconds

    def wake(self) -> None:
        """Look for due jobs now (a new job was submitted)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            while not stop.is_set():
                claimed = await self.run_once()
                if not claimed:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._idle):
                            await self._wake.wait()
                    self._wake.clear()
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
                await self.pipeline.step(job)
            except StaleJob:
                log.info("job %s changed under this worker; it will be re-read", job.id)
            except Exception:
                # A bug must not kill the worker: the lease runs out and the step is retried.
                log.exception("job %s: step failed", job.id)
