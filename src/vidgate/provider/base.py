"""The Provider interface: the one seam between vidgate's pipeline and a video API.

The pipeline speaks only these types. ``vidgate.provider.runway`` implements them with the
official ``runwayml`` SDK, for Runway itself and for vidgate's emulator alike (the emulator is just
another base URL).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from vidgate.requests.generation import GenerationRequest

__all__ = [
    "PROVIDER_WAIT_SECONDS",
    "CreatedTask",
    "ModelLimits",
    "Organization",
    "OutputBody",
    "Provider",
    "TaskSnapshot",
    "TaskStatus",
    "UsedCredits",
]

#: How long an API request waits for a read of the provider (tier limits, usage report) before it
#: is answered from the last one: a provider that is slow or down never holds a page for the
#: length of its retries. The read goes on and its answer is kept.
PROVIDER_WAIT_SECONDS = 2.0


class TaskStatus(StrEnum):
    """An upstream task's status as the provider reports it."""

    PENDING = "PENDING"  # accepted, waiting to start
    THROTTLED = "THROTTLED"  # stored but not queued: the model's concurrency limit is full
    RUNNING = "RUNNING"  # generating; progress moves from 0 to 1
    SUCCEEDED = "SUCCEEDED"  # done; output holds signed URLs that expire within 24-48 h
    FAILED = "FAILED"  # done without output; failure and failureCode say why
    CANCELLED = "CANCELLED"  # cancelled or deleted upstream
    UNKNOWN = "UNKNOWN"  # a value this version of vidgate does not know; polled on, never trusted

    @classmethod
    def parse(cls, value: object) -> TaskStatus:
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)


@dataclass(frozen=True)
class CreatedTask:
    id: str
    estimated_credits: float | None


@dataclass(frozen=True)
class TaskSnapshot:
    """One reading of an upstream task."""

    id: str
    status: TaskStatus
    raw_status: str
    progress: float | None = None
    output: tuple[str, ...] = ()
    failure: str | None = None
    failure_code: str | None = None
    estimated_credits: float | None = None
    cost_credits: float | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ModelLimits:
    max_concurrent: int | None
    max_daily: int | None
    daily_used: int = 0


@dataclass(frozen=True)
class Organization:
    credit_balance: float | None
    models: dict[str, ModelLimits] = field(default_factory=dict)
    #: The provider's clock when it answered (its ``Date`` header), when it said.
    server_time: datetime | None = None


@dataclass(frozen=True)
class UsedCredits:
    """Credits the provider charged for one model on one UTC day (refunds already deducted)."""

    day: date
    model: str
    credits: float


class OutputBody(Protocol):
    """An output's bytes, read blocking (on a worker thread) into the caller's buffer."""

    #: The size the provider announced; None when it did not say.
    length: int | None

    def readinto(self, buffer: memoryview) -> int:
        """The next bytes into ``buffer``, how many; 0 at the end. A body that breaks off or
        ends short of ``length`` raises ``ProviderUnavailable``."""
        ...


class Provider(Protocol):
    """What the pipeline needs from a video generation API.

    Errors come out as vidgate's own (``vidgate.errors``): ``ProviderRefused`` for a final no,
    ``RateLimited``/``ProviderUnavailable`` for passing faults, ``NotFound`` for a task that is
    gone, and ``SubmissionUncertain`` when a create may or may not have reached the provider.
    """

    name: str

    async def create_task(self, request: GenerationRequest) -> CreatedTask: ...

    async def get_task(self, task_id: str) -> TaskSnapshot: ...

    async def cancel_task(self, task_id: str) -> None: ...

    async def upload(self, path: Path, *, filename: str | None = None) -> str:
        """Upload a local file; returns a ``runway://`` URI usable in any media field."""
        ...

    async def organization(self) -> Organization: ...

    async def usage(self, start: date, before: date) -> list[UsedCredits]:
        """The provider's credit usage by day and model for days in ``[start, before)``."""
        ...

    def open_output(self, url: str) -> AbstractAsyncContextManager[OutputBody]:
        """An output URL's response, its body still unread; ``OutputExpired`` when the signed
        URL has expired, ``NotFound`` when it is gone."""
        ...

    async def aclose(self) -> None: ...
