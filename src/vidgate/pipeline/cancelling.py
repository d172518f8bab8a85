"""Cancelling a job's upstream task: the one way a step stops a task it follows and ends the job.

Used for a cancel request, a deadline passed, and a cancel that arrived while the create was in
flight. Runway's ``DELETE /v1/tasks/{id}`` answers with no body, and a cancelled or deleted task
cannot be read again, so the task is read just before it is deleted: its cost is recorded on the
job from that reading (:func:`charged_if_cancelled`), and budgets settle with it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vidgate.errors import NotFound, TransientFault
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.pipeline.context import StepContext
from vidgate.provider.base import TaskSnapshot, TaskStatus

__all__ = ["CANCELLED_DURING_CREATE", "cancel_upstream", "charged_if_cancelled"]

#: The reason of a job whose cancel arrived while its create was in flight.
CANCELLED_DURING_CREATE = "cancelled while being submitted; the task was cancelled upstream"
#: Wait before trying a cancel again after a passing fault that named no wait.
_RETRY_SECONDS = 5.0


def charged_if_cancelled(task: TaskSnapshot) -> float | None:
    """What the provider charges for ``task`` if it is deleted now, from its latest reading.

    Runway decides by the status it sees when the delete arrives: a running task is not refunded
    (its estimate), a task not yet running is (0), a finished one keeps its cost. An unknown
    status counts as running. Should a task start between this reading and the delete, the
    provider's usage report shows the difference (``GET /v1/usage``: unaccounted credits).
    """
    if task.status.is_terminal:
        return task.cost_credits
    if task.status in (TaskStatus.THROTTLED, TaskStatus.PENDING):
        return 0.0
    return task.estimated_credits


async def cancel_upstream(
    ctx: StepContext, job: Job, status: Status, reason: str, failure_code: str | None = None
) -> Job:
    """Delete ``job``'s task upstream and end the job in ``status`` with what the task cost.

    A passing fault keeps the job (with its cancel request or deadline) and tries again soon; a
    task already gone upstream has nothing left to delete.
    """
    changes: dict[str, Any] = {}
    task_id = job.task_id
    if task_id:
        try:
            changes["cost_credits"] = charged_if_cancelled(await ctx.provider.get_task(task_id))
            await ctx.provider.cancel_task(task_id)
        except NotFound:
            pass  # deleted already (outside vidgate): nothing to delete, no cost to read
        except TransientFault as exc:
            return await ctx.store.release(
                job,
                ctx.clock() + timedelta(seconds=exc.retry_after or _RETRY_SECONDS),
                status_reason=f"cancelling upstream: {exc}",
            )
        ctx.cadence.forget(task_id)
        await ctx.store.finish_attempt(
            job.id, job.attempt, status=status, failure_code=failure_code
        )
    return await ctx.finish(job, status, reason=reason, failure_code=failure_code, **changes)
