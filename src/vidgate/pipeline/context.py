"""What every step reads and writes through: the stores, the provider, the clock, the limits.

:class:`StepContext` is handed to the steps of ordinary jobs (:mod:`vidgate.pipeline.steps`) and
of chains (:mod:`vidgate.pipeline.chain`), so that neither reaches into the other. It also holds
the one way a step ends a job (:meth:`StepContext.finish`) and the one way a step writes what it
must not lose to a cancel request that arrived meanwhile (:meth:`StepContext.as_holder`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from vidgate.catalog import Catalog
from vidgate.clock import utcnow
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore, StaleJob
from vidgate.media.c2pa_trust import TrustSetup, shipped_trust
from vidgate.media.provenance import SigningIdentity
from vidgate.pipeline.polling import PollCadence
from vidgate.provider.base import Provider
from vidgate.provider.limits import ProviderLimits
from vidgate.settings import DEFAULTS
from vidgate.storage import Storage

__all__ = ["StepContext", "aware"]


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC time: SQLite hands back naive ones, and vidgate stores UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class StepContext:
    """The parts a step works with; built once by the runtime (or a test) and shared."""

    store: JobStore
    provider: Provider
    storage: Storage
    catalog: Catalog
    cadence: PollCadence
    #: The provider's tier limits, checked before each create (``GET /v1/usage`` shows them).
    limits: ProviderLimits
    #: INTERNAL failures upstream are tried again this many times with a new task.
    internal_retry_limit: int = DEFAULTS.internal_retry_limit
    #: Creates in flight at once: each one is a window in which a crash leaves an outcome unknown.
    submit_concurrency: int = DEFAULTS.submit_concurrency
    #: The largest finished output downloaded (to a local file, before it is stored).
    output_max_bytes: int = DEFAULTS.output_max_bytes
    clock: Callable[[], datetime] = utcnow
    #: Called with a job id when a step makes another job due now (a chain's next segment, a
    #: segment to cancel), so that whoever runs steps picks it up at once.
    job_due: Callable[[str], Awaitable[None]] | None = None
    #: The operator's C2PA identity, which signs joined chains (None: they stay unsigned).
    signing: SigningIdentity | None = None
    #: Whom outputs' content credentials are checked against: the shipped C2PA lists and the
    #: operator's anchors and pinned signers.
    trust: TrustSetup = field(default_factory=shipped_trust)

    def speed(self, model: str) -> str:
        """The catalog's speed class of ``model`` ("standard" for a model it does not list)."""
        return self.catalog.model(model).speed if model in self.catalog else "standard"

    async def make_due(self, job_id: str) -> None:
        """Have ``job_id``'s next step run now, if anyone listens."""
        if self.job_due is not None:
            await self.job_due(job_id)

    async def as_holder(self, job: Job, write: Callable[[Job], Awaitable[Job]]) -> Job:
        """``write(job)``; if a cancel request moved the job meanwhile, ``write`` again on the job
        as it now stands (``cancel_requested`` set, for ``write`` to act on).

        A cancel request leaves the job with the step holding it
        (:meth:`~vidgate.jobs.store.JobStore.reread_for_holder`), so what the step learned (a
        create's task id, a stored output) is written, never dropped for a lease to run out. Any
        other move (a takeover) raises :class:`~vidgate.jobs.store.StaleJob`: the job's new holder
        carries on from the row.
        """
        try:
            return await write(job)
        except StaleJob as stale:
            fresh = await self.store.reread_for_holder(stale, job)
            if fresh is None:
                raise
            return await write(fresh)

    async def finish(
        self,
        job: Job,
        status: Status,
        *,
        reason: str,
        failure_code: str | None = None,
        **changes: Any,
    ) -> Job:
        """End the job in ``status``; a failure keeps ``reason`` as its message. The end is
        written even if a cancel request arrived meanwhile: there is nothing left to cancel."""
        if failure_code is not None or status is Status.FAILED:
            changes.setdefault("failure_message", reason)

        async def end(held: Job) -> Job:
            return await self.store.release(
                held,
                self.clock(),
                status=status,
                status_reason=reason,
                failure_code=failure_code,
                **changes,
            )

        return await self.as_holder(job, end)
