"""The steps of one ordinary job: submit -> poll -> store, each short, each ending with the row.

A job is a row with its next run time, never a sleeping coroutine: whoever runs steps (the
:mod:`vidgate.pipeline.worker` loop or the PostgreSQL step queue) runs one step of a due job, and
the step writes the job back with when it wants to run next. Anything a step knew in memory is
also in the row, so a crash at any point loses nothing: the next step of the job picks up where
the row says it stands.

Exactly once: the intent to create is recorded (status ``submitting`` and an attempt without a task
id) before the create call, the task id right after it. A job found in ``submitting`` after a crash,
or a create whose outcome is unknown (dropped connection, 500), is never resent: Runway takes no
idempotency key, so resending could pay twice. It fails with ``SUBMISSION_UNCERTAIN`` instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from vidgate.errors import (
    MediaRejected,
    NotFound,
    ProviderCredentialsRefused,
    ProviderRefused,
    StorageRefused,
    SubmissionUncertain,
    TransientFault,
    ValidationFailed,
)
from vidgate.jobs.models import Job
from vidgate.jobs.status import FailureCode, Status
from vidgate.jobs.store import JobChanges
from vidgate.pipeline.cancelling import CANCELLED_DURING_CREATE, cancel_upstream
from vidgate.pipeline.context import StepContext, aware
from vidgate.pipeline.download import download_output
from vidgate.pipeline.polling import task_start
from vidgate.provider.base import CreatedTask, TaskSnapshot, TaskStatus
from vidgate.requests.generation import GenerationRequest, validate_request

__all__ = ["JobSteps", "classify_failure"]

log = logging.getLogger("vidgate.pipeline.steps")

#: A job found ``submitting`` by a step: the one that sent its create stopped before recording it.
_TAKEN_OVER = "taken over from a worker that stopped while submitting it"
DEFAULT_TIMEOUT_FACTOR = 10.0  # a job may take this many times its model's expected run time
MIN_TIMEOUT_SECONDS = 600.0


def classify_failure(code: str | None) -> str:
    """'final' for failures a new task cannot fix, 'retry' for the provider's own faults."""
    if code and code.upper().startswith("INTERNAL"):
        return "retry"
    return "final"  # SAFETY.*, INPUT_PREPROCESSING.*, ASSET.INVALID, unknown codes


class JobSteps:
    """The steps of one ordinary job, each short, each ending with the job written back."""

    def __init__(self, context: StepContext) -> None:
        self.ctx = context
        self._submitting = asyncio.Semaphore(context.submit_concurrency)

    async def step(self, job: Job) -> Job:
        """Run the step the job's status calls for; returns the job as written back."""
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
        now = self.ctx.clock()
        if job.cancel_requested:
            return await self.ctx.finish(
                job, Status.CANCELLED, reason="cancelled before submission"
            )
        if self._deadline_passed(job, now):
            return await self.ctx.finish(
                job,
                Status.FAILED,
                reason="timed out before it could be submitted",
                failure_code=FailureCode.TIMEOUT,
            )
        try:
            request = validate_request(job.endpoint, job.request, catalog=self.ctx.catalog)
        except ValidationFailed as exc:
            return await self.ctx.finish(
                job, Status.FAILED, reason=str(exc), failure_code=FailureCode.INVALID_REQUEST
            )
        async with self._submitting:
            return await self._send_create(job, request, now)

    async def _send_create(self, job: Job, request: GenerationRequest, now: datetime) -> Job:
        # The intent (status and attempt) is durable before the call: a crash from here on is
        # reconciled, not resent. The same write takes a tier slot, counted across all workers.
        estimate = job.estimated_credits
        if estimate is None:  # a job made outside the API gets the catalog's estimate here
            estimate = self.ctx.catalog.estimate_cost(
                request.model, duration=request.duration_seconds, endpoint=request.endpoint
            ).high
        job, waiting = await self.ctx.limits.begin_submission(
            self.ctx.store,
            job,
            status_reason=f"creating attempt {job.attempt} upstream",
            estimated_credits=estimate,
        )
        if waiting is not None:
            return await self.ctx.store.release(job, waiting.retry_at, status_reason=waiting.reason)
        try:
            created = await self.ctx.provider.create_task(request)
        except TransientFault as exc:
            # Refused before any task was made (429, load shedding): safe to try again later.
            delay = exc.retry_after or self.ctx.cadence.min_seconds * 5
            waiting_reason = f"waiting to submit: {exc}"
            await self.ctx.store.finish_attempt(
                job.id, job.attempt, status=Status.QUEUED, failure_message=str(exc)
            )

            async def wait_to_resend(held: Job) -> Job:
                if held.cancel_requested:
                    reason = "cancelled while being submitted; the create was refused, no task made"
                    return await self.ctx.finish(held, Status.CANCELLED, reason=reason)
                return await self.ctx.store.release(
                    held,
                    now + timedelta(seconds=delay),
                    status=Status.QUEUED,
                    status_reason=waiting_reason,
                )

            return await self.ctx.as_holder(job, wait_to_resend)
        except SubmissionUncertain as exc:
            return await self._uncertain(job, str(exc))
        except ProviderCredentialsRefused as exc:
            # Refused before any task was made; the operator, not a retry, must fix it.
            log.error("job %s: %s", job.id, exc)
            return await self._attempt_failed(job, FailureCode.PROVIDER_CREDENTIALS, str(exc))
        except (ProviderRefused, ValidationFailed, MediaRejected) as exc:
            return await self._attempt_failed(job, FailureCode.PROVIDER_REFUSED, str(exc))
        return await self._record_task(job, created)

    async def _record_task(self, job: Job, created: CreatedTask) -> Job:
        """Write down the task a create made, whatever happened meanwhile: on its attempt first,
        then on the job. A cancel that arrived while the create was in flight cancels that task
        now, as soon as its id is known."""
        submitted = self.ctx.clock()
        await self.ctx.store.record_attempt(
            job.id, job.attempt, task_id=created.id, status=Status.RUNNING
        )
        first_poll = self.ctx.cadence.next_delay(
            job.model, elapsed=0.0, speed=self.ctx.speed(job.model)
        )

        async def record(held: Job) -> Job:
            changes: JobChanges = {
                "status": Status.RUNNING,
                "status_reason": "submitted",
                "task_id": created.id,
                "submitted_at": submitted,
                "estimated_credits": created.estimated_credits or held.estimated_credits,
                "deadline_at": held.deadline_at or submitted + self._timeout(held.model),
            }
            if not held.cancel_requested:
                next_run = submitted + timedelta(seconds=first_poll)
                return await self.ctx.store.release(held, next_run, **changes)
            # Recorded before the delete: a crash in between leaves a cancel request to act on.
            changes["status_reason"] = "cancel requested while being submitted: cancelling its task"
            held = await self.ctx.store.update_job(held, expected_version=held.version, **changes)
            return await cancel_upstream(self.ctx, held, Status.CANCELLED, CANCELLED_DURING_CREATE)

        return await self.ctx.as_holder(job, record)

    async def _reconcile_submission(self, job: Job) -> Job:
        """Only a step that stopped mid-create (a crash, a lost lease) leaves a job here: a
        cancel request meanwhile does not (:meth:`_record_task`). Decide from what was recorded."""
        attempts = {a.number: a for a in await self.ctx.store.list_attempts(job.id)}
        attempt = attempts.get(job.attempt)
        if attempt is None:
            # The attempt is recorded before the create is sent: without it, nothing was sent.
            return await self.ctx.store.release(
                job,
                self.ctx.clock(),
                status=Status.QUEUED,
                status_reason=f"{_TAKEN_OVER}; the create had not been sent",
            )
        if attempt.task_id is not None:
            # The answer was recorded on the attempt but not yet on the job: carry on polling.
            return await self.ctx.store.release(
                job,
                self.ctx.clock(),
                status=Status.RUNNING,
                status_reason=f"{_TAKEN_OVER}; following the task it made",
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
        return await self._attempt_failed(job, FailureCode.SUBMISSION_UNCERTAIN, message)

    async def _attempt_failed(self, job: Job, code: FailureCode, message: str) -> Job:
        """End the attempt and the job as failed with ``code``, for good."""
        await self.ctx.store.finish_attempt(
            job.id, job.attempt, status=Status.FAILED, failure_code=code, failure_message=message
        )
        return await self.ctx.finish(job, Status.FAILED, reason=message, failure_code=code)

    # --- poll --------------------------------------------------------------------------------

    async def _poll(self, job: Job) -> Job:
        now = self.ctx.clock()
        task_id = job.task_id
        if task_id is None:  # pragma: no cover - a running job always has a task
            return await self._uncertain(job, "the job lost its task id")
        if job.cancel_requested:
            return await cancel_upstream(self.ctx, job, Status.CANCELLED, "cancelled by request")
        if self._deadline_passed(job, now):
            seconds = (now - (aware(job.submitted_at) or now)).total_seconds()
            return await cancel_upstream(
                self.ctx,
                job,
                Status.FAILED,
                f"timed out after {seconds:.0f} s; cancelled upstream",
                failure_code=FailureCode.TIMEOUT,
            )
        try:
            task = await self.ctx.provider.get_task(task_id)
        except TransientFault as exc:
            delay = exc.retry_after or self.ctx.cadence.max_seconds / 3
            return await self.ctx.store.release(
                job, now + timedelta(seconds=delay), status_reason=f"provider unavailable: {exc}"
            )
        except ProviderCredentialsRefused as exc:
            return await self._key_refused(job, now, exc)
        except NotFound as exc:
            self.ctx.cadence.forget(task_id)
            return await self.ctx.finish(
                job,
                Status.FAILED,
                # The provider's own words say where the task went (the emulator names its state).
                reason=f"the task no longer exists upstream (deleted outside vidgate): {exc}",
                failure_code=FailureCode.TASK_VANISHED,
            )
        # Stamped once the answer is in: its progress figure is never newer than its time.
        return await self._apply(job, task, self.ctx.clock())

    async def _key_refused(self, job: Job, now: datetime, exc: Exception) -> Job:
        return await self._wait_for_operator(job, now, f"waiting for a valid API key: {exc}")

    async def _wait_for_operator(self, job: Job, now: datetime, reason: str) -> Job:
        # The task exists upstream (paid for), and only the operator can mend what stops it (a
        # refused key or store): keep the job and look again, so that a restart with the fix
        # finds it where it stands.
        log.error("job %s: %s", job.id, reason)
        return await self.ctx.store.release(
            job, now + timedelta(seconds=self.ctx.cadence.max_seconds), status_reason=reason
        )

    async def _apply(self, job: Job, task: TaskSnapshot, now: datetime) -> Job:
        # Counted from the provider's createdAt when plausible; readings and the end are learned
        # per task (censored: the end lies between two polls, see pipeline/polling.py).
        start = task_start(aware(job.submitted_at) or now, task.created_at)
        elapsed = (now - start).total_seconds()
        speed = self.ctx.speed(job.model)
        changes: dict[str, Any] = {"poll_count": job.poll_count + 1}
        if task.estimated_credits is not None:
            changes["estimated_credits"] = task.estimated_credits
        if task.status.is_terminal and task.status is not TaskStatus.SUCCEEDED:
            self.ctx.cadence.forget(task.id)
        if task.status is TaskStatus.SUCCEEDED:
            self.ctx.cadence.finished(job.model, task.id, elapsed=elapsed, speed=speed)
            changes.update(
                status=Status.DOWNLOADING,
                status_reason="storing the output",
                progress=1.0,
                cost_credits=task.cost_credits,
            )
            job = await self.ctx.store.update_job(job, expected_version=job.version, **changes)
            return await self._download(job, task)
        if task.status is TaskStatus.FAILED:
            return await self._task_failed(job, task, changes)
        if task.status is TaskStatus.CANCELLED:
            changes["cost_credits"] = task.cost_credits
            return await self.ctx.finish(
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
        delay = self.ctx.cadence.next_delay(
            job.model,
            elapsed=elapsed,
            progress=task.progress,
            speed=speed,
            throttled=throttled,
            task=task.id,
        )
        return await self.ctx.store.release(job, now + timedelta(seconds=delay), **changes)

    async def _task_failed(self, job: Job, task: TaskSnapshot, changes: dict[str, Any]) -> Job:
        code = task.failure_code or "UNKNOWN"
        message = task.failure or "the provider reported a failure"
        await self.ctx.store.finish_attempt(
            job.id, job.attempt, status=Status.FAILED, failure_code=code, failure_message=message
        )
        if classify_failure(code) == "retry" and job.attempt <= self.ctx.internal_retry_limit:
            # The provider's own fault: a new task may well succeed. Each attempt is recorded.
            return await self.ctx.store.release(
                job,
                self.ctx.clock(),
                status=Status.QUEUED,
                status_reason=f"attempt {job.attempt} failed upstream ({code}); trying again",
                attempt=job.attempt + 1,
                task_id=None,
                progress=0.0,
                **changes,
            )
        changes["cost_credits"] = task.cost_credits
        return await self.ctx.finish(
            job,
            Status.FAILED,
            reason=message,
            failure_code=code,
            failure_message=message,
            **changes,
        )

    # --- download ----------------------------------------------------------------------------

    async def _download(self, job: Job, task: TaskSnapshot | None = None) -> Job:
        try:
            return await download_output(self.ctx, job, task)
        except ProviderCredentialsRefused as exc:
            return await self._key_refused(job, self.ctx.clock(), exc)
        except StorageRefused as exc:
            # Each look reads the task again, for a fresh signed URL.
            reason = f"waiting for the media store to take vidgate's credentials: {exc}"
            return await self._wait_for_operator(job, self.ctx.clock(), reason)

    # --- helpers -----------------------------------------------------------------------------

    def _deadline_passed(self, job: Job, now: datetime) -> bool:
        deadline = aware(job.deadline_at)
        return deadline is not None and now >= deadline

    def _timeout(self, model: str) -> timedelta:
        expected = self.ctx.cadence.expected_seconds(model, self.ctx.speed(model))
        return timedelta(seconds=max(expected * DEFAULT_TIMEOUT_FACTOR, MIN_TIMEOUT_SECONDS))
