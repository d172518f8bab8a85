"""Long videos: a chain's parent job runs its segments in order and joins them into one MP4.

A chain is a parent job (``endpoint: "chain"``, its plan in the request) whose segments are
ordinary child jobs (``parent_id``, ``segment_index``) that the pipeline runs like any other:
submit, poll, INTERNAL retries, download. The parent's step, one short step per run like every
job's, looks at its children and does the one thing due:

1. the current segment is still running: report "segment k of n" and look again when the child
   next runs;
2. the current segment succeeded: take its last frame, upload it (a ``runway://`` URI) and create
   the next segment from it (image to video);
3. every segment succeeded: join their stored outputs (:mod:`vidgate.media.stitch`) into
   ``jobs/<parent>/video.mp4`` with poster, probe and checksum, cost = the segments' sum;
4. a segment failed (after the pipeline's own retries) or was cancelled: the chain ends the same
   way, naming the segment; a cancel of the parent cancels the segment in flight.

Exactly once: each segment is created with the idempotency key ``chain:<parent id>:<index>``, and
the parent looks its children up before creating one, so a parent step re-run after a crash finds
the segment it already made instead of paying for another. The segment's own task follows the
pipeline's rules. A crash between the upload of a frame and the segment's creation only repeats
the (free) upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from vidgate.errors import Conflict, MediaRejected, ValidationFailed, VidgateError
from vidgate.jobs.models import Job
from vidgate.jobs.status import FailureCode, Status
from vidgate.jobs.store import StaleJob
from vidgate.media.stitch import join_videos, last_frame_png
from vidgate.pipeline.context import StepContext, aware
from vidgate.pipeline.output_extras import sign_joined
from vidgate.pipeline.outputs import store_video
from vidgate.requests.chain_plan import ChainPlan, validate_chain

__all__ = ["ChainSteps", "segment_idempotency_key"]

log = logging.getLogger("vidgate.pipeline.chain")

# A failed upload of a seam frame (a passing fault) is tried again after this long.
_RETRY_SECONDS = 5.0
_STALE_RETRIES = 3


def segment_idempotency_key(parent_id: str, index: int) -> str:
    """The key segment ``index`` of chain ``parent_id`` is created with: one job per segment."""
    return f"chain:{parent_id}:{index}"


class ChainSteps:
    """The parent job's step; the pipeline hands it every job whose endpoint is ``chain``."""

    def __init__(self, context: StepContext) -> None:
        self.ctx = context

    async def step(self, job: Job) -> Job:
        """Run the parent's step; re-run it on the fresh row if a cancel request lands meanwhile.

        A request to cancel bumps the row's version while the step holds the lease: the step's
        write then fails (StaleJob). The lease is still ours, and the step is safe to repeat (it
        looks its children up first), so it runs again at once instead of waiting for the lease
        to run out.
        """
        for _ in range(_STALE_RETRIES):
            try:
                return await self._step(job)
            except StaleJob:
                fresh = await self.ctx.store.get_job(job.id)
                if fresh.lease_owner != job.lease_owner or fresh.status.is_terminal:
                    raise  # another worker took the job over: it is theirs now
                job = fresh
        return await self._step(job)

    async def _step(self, job: Job) -> Job:
        try:
            plan = validate_chain(job.request, catalog=self.ctx.catalog)
        except ValidationFailed as exc:
            return await self.ctx.finish(
                job, Status.FAILED, reason=str(exc), failure_code=FailureCode.INVALID_REQUEST
            )
        children = {c.segment_index: c for c in await self.ctx.store.list_children(job.id)}
        if job.cancel_requested:
            return await self._cancel(job, plan, children)
        for index in range(plan.count):
            child = children.get(index)
            if child is None:
                return await self._start_segment(job, plan, index, children)
            if child.status is Status.SUCCEEDED:
                continue
            if child.status.is_terminal:
                return await self._segment_ended(job, plan, index, child, children)
            return await self._wait_for(job, plan, index, child)
        return await self._join(job, plan, [children[i] for i in range(plan.count)])

    # --- segments ----------------------------------------------------------------------------

    def _label(self, plan: ChainPlan, index: int) -> str:
        return f"segment {index + 1} of {plan.count}"

    async def _wait_for(self, job: Job, plan: ChainPlan, index: int, child: Job) -> Job:
        now = self.ctx.clock()
        cadence = self.ctx.cadence
        # Look again just after the segment's own next step: that is when it can change.
        due = (aware(child.next_run_at) - now).total_seconds() + cadence.min_seconds
        delay = min(max(due, cadence.min_seconds), cadence.max_seconds)
        progress = min((index + child.progress) / plan.count, 0.99)
        reason = f"{self._label(plan, index)}: {child.status_reason or child.status.value}"
        return await self.ctx.store.release(
            job,
            now + timedelta(seconds=delay),
            status=Status.RUNNING,
            status_reason=reason,
            progress=max(progress, job.progress),
        )

    async def _start_segment(
        self, job: Job, plan: ChainPlan, index: int, children: dict[int | None, Job]
    ) -> Job:
        store = self.ctx.store
        label = self._label(plan, index)
        if job.status is not Status.RUNNING:
            # Running before any segment exists: a cancel of a queued parent never strands one.
            job = await store.update_job(
                job,
                expected_version=job.version,
                status=Status.RUNNING,
                status_reason=f"{label}: starting",
            )
        if index == 0:
            image = plan.first_image
        else:
            try:
                image = await self._upload_last_frame(job, children[index - 1], index)
            except VidgateError as exc:
                if isinstance(exc, MediaRejected):
                    return await self.ctx.finish(
                        job,
                        Status.FAILED,
                        reason=f"{label}: the previous segment's last frame is unusable: {exc}",
                        failure_code=FailureCode.CHAIN_FRAME_FAILED,
                        cost_credits=_cost(children.values()),
                    )
                log.warning("chain %s: uploading the frame for %s failed: %s", job.id, label, exc)
                return await store.release(
                    job,
                    self.ctx.clock() + timedelta(seconds=_RETRY_SECONDS),
                    status_reason=f"{label}: uploading the start frame again ({exc})",
                )
        endpoint = plan.endpoint(index)
        body = plan.segment_body(index, image, catalog=self.ctx.catalog)
        estimate = self.ctx.catalog.estimate_cost(
            plan.model, duration=plan.durations[index], endpoint=endpoint
        )
        key = segment_idempotency_key(job.id, index)
        try:
            created = await store.create_job(
                endpoint=endpoint.value,
                model=plan.model,
                request=body,
                owner=job.owner or None,
                idempotency_key=key,
                estimated_credits=estimate.high,
                parent_id=job.id,
                segment_index=index,
            )
            child = created.job
        except Conflict:
            # Made already by an earlier run of this step (with another upload of the frame).
            child = next(c for c in await store.list_children(job.id) if c.segment_index == index)
        await self.ctx.make_due(child.id)
        return await store.release(
            job,
            self.ctx.clock() + timedelta(seconds=self.ctx.cadence.min_seconds),
            status=Status.RUNNING,
            status_reason=f"{label}: queued",
            progress=max(index / plan.count, job.progress),
        )

    async def _upload_last_frame(self, job: Job, previous: Job, index: int) -> str:
        if previous.output_key is None:
            raise MediaRejected.single("segment", f"segment {index} has no stored output")
        async with self.ctx.storage.local_copy(previous.output_key) as path:
            png = await asyncio.to_thread(last_frame_png, path, field=f"segment {index}")
        with tempfile.TemporaryDirectory(prefix="vidgate-chain-") as tmp:
            frame = Path(tmp) / f"{job.id}-{index}.png"
            await asyncio.to_thread(frame.write_bytes, png)
            return await self.ctx.provider.upload(frame, filename=frame.name)

    async def _segment_ended(
        self, job: Job, plan: ChainPlan, index: int, child: Job, children: dict[int | None, Job]
    ) -> Job:
        label = self._label(plan, index)
        cost = _cost(children.values())
        if child.status is Status.CANCELLED:
            return await self.ctx.finish(
                job,
                Status.CANCELLED,
                reason=f"{label} was cancelled: {child.status_reason or 'cancelled'}",
                failure_code=child.failure_code,
                cost_credits=cost,
            )
        message = child.failure_message or child.status_reason or "failed"
        return await self.ctx.finish(
            job,
            Status.FAILED,
            reason=f"{label} failed: {message}",
            failure_code=child.failure_code or FailureCode.SEGMENT_FAILED,
            cost_credits=cost,
        )

    async def _cancel(self, job: Job, plan: ChainPlan, children: dict[int | None, Job]) -> Job:
        store = self.ctx.store
        active = [c for c in children.values() if not c.status.is_terminal]
        for child in active:
            await store.request_cancel(child.id)
            await self.ctx.make_due(child.id)
        remaining = [c for c in await store.list_children(job.id) if not c.status.is_terminal]
        done = sum(1 for c in children.values() if c.status is Status.SUCCEEDED)
        if remaining:
            return await store.release(
                job,
                self.ctx.clock() + timedelta(seconds=self.ctx.cadence.min_seconds),
                status_reason=f"cancelling {self._label(plan, min(done, plan.count - 1))}",
            )
        final = await store.list_children(job.id)
        return await self.ctx.finish(
            job,
            Status.CANCELLED,
            reason=f"cancelled by request after {done} of {plan.count} {_segments(plan.count)}",
            cost_credits=_cost(final),
        )

    # --- joining -----------------------------------------------------------------------------

    async def _join(self, job: Job, plan: ChainPlan, segments: Sequence[Job]) -> Job:
        store = self.ctx.store
        if job.status is not Status.DOWNLOADING:
            job = await store.update_job(
                job,
                expected_version=job.version,
                status=Status.DOWNLOADING,
                status_reason=f"joining {plan.count} {_segments(plan.count)}",
                progress=0.99,
            )
        keys = [s.output_key for s in segments]
        if any(k is None for k in keys):
            return await self.ctx.finish(
                job,
                Status.FAILED,
                reason="a finished segment has no stored output",
                failure_code=FailureCode.CHAIN_JOIN_FAILED,
                cost_credits=_cost(segments),
            )
        # Joined at a staged path: stored from there, with its extras, in one pass.
        async with self.ctx.storage.staged(".mp4") as joined:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    paths: list[Path] = []
                    for key in keys:
                        assert key is not None
                        paths.append(
                            await stack.enter_async_context(self.ctx.storage.local_copy(key))
                        )
                    result = await asyncio.to_thread(
                        join_videos, paths, joined, target_seconds=plan.total_seconds
                    )
                    # vidgate's own file: signed with the operator's certificate, or said unsigned.
                    provenance = await asyncio.to_thread(
                        sign_joined,
                        joined,
                        paths,
                        model=plan.model,
                        identity=self.ctx.signing,
                        trust=self.ctx.trust,
                    )
                columns = await store_video(self.ctx.storage, job.id, joined, provenance=provenance)
            except MediaRejected as exc:
                return await self.ctx.finish(
                    job,
                    Status.FAILED,
                    reason=f"the segments could not be joined: {exc}",
                    failure_code=FailureCode.CHAIN_JOIN_FAILED,
                    cost_credits=_cost(segments),
                )
        log.info("chain %s: joined %d segments (%s)", job.id, plan.count, result.mode)
        return await self.ctx.finish(
            job,
            Status.SUCCEEDED,
            reason=f"joined {plan.count} {_segments(plan.count)}",
            cost_credits=_cost(segments),
            **columns,
        )


def _cost(children: Any) -> float | None:
    costs = [c.cost_credits for c in children if c.cost_credits is not None]
    return round(sum(costs), 6) if costs else None


def _segments(count: int) -> str:
    return "segment" if count == 1 else "segments"
