"""The step runner both queues take: a chain's parent goes to
:class:`~vidgate.pipeline.chain.ChainSteps`, every other job to
:class:`~vidgate.pipeline.steps.JobSteps`; both share one :class:`StepContext`.

A cancel request that lands while a step runs makes the step's next write stale; the runner then
runs the job's step again at once on the row as it now stands, which acts on the request (the
job is its holder's still: nothing waits for a lease to run out).
"""

from __future__ import annotations

import logging

from vidgate.jobs.models import Job
from vidgate.jobs.store import JobStore, StaleJob
from vidgate.pipeline.chain import ChainSteps
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.steps import JobSteps
from vidgate.provider.limits import ProviderLimits
from vidgate.requests.chain_plan import CHAIN_ENDPOINT

__all__ = ["Pipeline"]

log = logging.getLogger("vidgate.pipeline.runner")


class Pipeline:
    """Runs the step a job's status calls for: what the worker loop and the step queue take."""

    def __init__(self, context: StepContext) -> None:
        self.context = context
        self._jobs = JobSteps(context)
        self._chains = ChainSteps(context)

    @property
    def store(self) -> JobStore:
        """The job store the steps write to (the worker loop claims from it)."""
        return self.context.store

    @property
    def limits(self) -> ProviderLimits:
        """The tier limits every create is checked against (``GET /v1/usage`` shows them)."""
        return self.context.limits

    async def step(self, job: Job) -> Job:
        """Run the job's next step; returns the job as written back.

        :class:`~vidgate.jobs.store.StaleJob` means the job was taken over (or ended) under this
        step: its new holder carries on from the row.
        """
        try:
            return await self._step(job)
        except StaleJob as stale:
            fresh = await self.store.reread_for_holder(stale, job)
            if fresh is None:
                raise
            log.info(
                "job %s: cancel requested during its %s step; acting on it",
                job.id,
                job.status.value,
            )
            return await self._step(fresh)

    async def _step(self, job: Job) -> Job:
        if job.endpoint == CHAIN_ENDPOINT:
            return await self._chains.step(job)  # a chain's parent: its segments are jobs too
        return await self._jobs.step(job)
