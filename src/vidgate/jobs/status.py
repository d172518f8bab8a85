"""The life cycle of a job, as one enum.

::

    queued ──> submitting ──> running ──> downloading ──> succeeded
                 │   ▲           │ ▲
                 ▼   │           ▼ │
                throttled ◄──────┘ │        (any non-terminal state) ──> failed | cancelled
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE_STATUSES", "TERMINAL_STATUSES", "Status"]


class Status(StrEnum):
    """Where a job stands; the value is what the database and the API carry."""

    #: Accepted and stored, not yet sent to the provider.
    QUEUED = "queued"
    #: The intent to create an upstream task is recorded; the create call may be in flight, so a
    #: crash here is reconciled with the provider, never blindly resubmitted.
    SUBMITTING = "submitting"
    #: The provider said THROTTLED (a job waiting locally for a tier slot stays QUEUED).
    THROTTLED = "throttled"
    #: The provider reports the task PENDING or RUNNING.
    RUNNING = "running"
    #: The provider reports SUCCEEDED; the output is being copied into our storage.
    DOWNLOADING = "downloading"
    #: The output is stored; final.
    SUCCEEDED = "succeeded"
    #: Gave up for good (provider refusal, timeout, retries exhausted); final.
    FAILED = "failed"
    #: Cancelled at the caller's request; final.
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True for the final states: nothing will change the job any more."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES: frozenset[Status] = frozenset(
    {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}
)
ACTIVE_STATUSES: frozenset[Status] = frozenset(Status) - TERMINAL_STATUSES
