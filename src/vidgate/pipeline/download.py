"""The downloading step: a finished task's output stored in one pass, tried again on faults.

The output is downloaded once, to a local file (hashed as it streams, at most
``VIDGATE_OUTPUT_MAX_BYTES``); probe, poster, preview and provenance come from that file, and
then it is committed to storage (:func:`store_video`). A passing fault (a dropped or truncated
download, a 5xx, a file the probe refuses) is tried again with stamina, backing off about 1, 2,
4, 8 s, the task read again each time for a fresh signed URL. An expired URL is read again at
once the first time, then backing off: expiring again and again points at a clock problem. After
:data:`DOWNLOAD_ATTEMPTS` tries, or if the task is gone, the job fails ``DOWNLOAD_FAILED``, as
it does at once for an output over the size cap; nothing half-written is left. A store that
refuses vidgate's credentials is not tried again here: the job waits for the operator.
"""

from __future__ import annotations

import logging

import stamina

from vidgate.errors import (
    MediaRejected,
    NotFound,
    OutputExpired,
    PayloadTooLarge,
    StorageRefused,
    TransientFault,
)
from vidgate.jobs.models import Job
from vidgate.jobs.status import FailureCode, Status
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.outputs import store_video
from vidgate.provider.base import TaskSnapshot, TaskStatus
from vidgate.storage import fill_file

__all__ = ["DOWNLOAD_ATTEMPTS", "download_output"]

log = logging.getLogger("vidgate.pipeline.download")

#: Tries of a download that fails for a passing reason before the job fails.
DOWNLOAD_ATTEMPTS = 5
_FIRST_WAIT_SECONDS = 1.0
_MAX_WAIT_SECONDS = 8.0


async def download_output(ctx: StepContext, job: Job, task: TaskSnapshot | None = None) -> Job:
    """Store ``job``'s output (``task``: its last snapshot, if read) and finish it, SUCCEEDED or
    FAILED. A refused API key (``ProviderCredentialsRefused``) or storage credentials
    (``StorageRefused``) are raised for the step to handle: the output is paid for, so the job
    waits rather than fails."""
    expired = 0

    def again(exc: Exception) -> bool | float:
        nonlocal expired
        if isinstance(exc, StorageRefused):
            return False  # not passing: the step keeps the job waiting for the operator
        if isinstance(exc, OutputExpired):
            expired += 1
            return 0.0 if expired == 1 else True
        if isinstance(exc, TransientFault | MediaRejected):
            log.warning("job %s: download attempt failed: %s", job.id, exc)
            return True
        return False

    try:
        async for attempt in stamina.retry_context(
            on=again,
            attempts=DOWNLOAD_ATTEMPTS,
            timeout=None,
            wait_initial=_FIRST_WAIT_SECONDS,
            wait_max=_MAX_WAIT_SECONDS,
        ):
            with attempt:
                if attempt.num > 1 or task is None or not task.output:
                    assert job.task_id is not None
                    task = await ctx.provider.get_task(job.task_id)
                if task.status is not TaskStatus.SUCCEEDED or not task.output:
                    return await ctx.finish(
                        job,
                        Status.FAILED,
                        reason=f"the task is {task.raw_status} with no output to store",
                        failure_code=FailureCode.DOWNLOAD_FAILED,
                    )
                return await _store_output(ctx, job, task)
    except StorageRefused:
        raise  # a TransientFault, but not one that passes by itself
    except PayloadTooLarge as exc:
        return await ctx.finish(
            job,
            Status.FAILED,
            reason=f"the output is larger than the {ctx.output_max_bytes} bytes vidgate "
            f"stores (VIDGATE_OUTPUT_MAX_BYTES): {exc}",
            failure_code=FailureCode.DOWNLOAD_FAILED,
        )
    except (TransientFault, MediaRejected, NotFound) as exc:
        # Tried DOWNLOAD_ATTEMPTS times, or the task is gone.
        log.warning("job %s: giving up on its output: %s", job.id, exc)
    return await ctx.finish(
        job,
        Status.FAILED,
        reason=f"the output could not be stored after {DOWNLOAD_ATTEMPTS} tries",
        failure_code=FailureCode.DOWNLOAD_FAILED,
    )


async def _store_output(ctx: StepContext, job: Job, task: TaskSnapshot) -> Job:
    async with ctx.storage.staged(".mp4") as path:
        async with ctx.provider.open_output(task.output[0]) as body:
            digest = await fill_file(path, body, length=body.length, limit=ctx.output_max_bytes)
        columns = await store_video(ctx.storage, job.id, path, digest, trust=ctx.trust)
    await ctx.store.finish_attempt(job.id, job.attempt, status=Status.SUCCEEDED)
    return await ctx.finish(
        job, Status.SUCCEEDED, reason="stored", cost_credits=task.cost_credits, **columns
    )
