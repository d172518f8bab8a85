"""The life cycle of a job, as one enum.

::

    queued ──> submitting ──> running ──> downloading ──> succeeded
                 │   ▲           │ ▲
                 ▼   │           ▼ │
                throttled ◄──────┘ │        (any non-terminal state) ──> failed | cancelled
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE_STATUSES", "TERMINAL_STATUSES", "FailureCode", "Status"]


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


class FailureCode(StrEnum):
    """The ``failure_code`` values vidgate itself sets; the provider's own codes (``SAFETY.*``,
    ``INTERNAL.*``, ...) are passed through as they come."""

    #: The create was sent but its answer never arrived (a crash, a dropped connection, a 5xx):
    #: Runway takes no idempotency key, so it is not resent.
    SUBMISSION_UNCERTAIN = "SUBMISSION_UNCERTAIN"
    #: The job passed its deadline before it finished (cancelled upstream if it had a task).
    TIMEOUT = "TIMEOUT"
    #: The provider refused the create (a 4xx: bad input, moderation before the task).
    PROVIDER_REFUSED = "PROVIDER_REFUSED"
    #: The provider refused vidgate's own API key (401/403): nothing was created; the operator
    #: must set a valid ``RUNWAYML_API_SECRET``.
    PROVIDER_CREDENTIALS = "PROVIDER_CREDENTIALS"
    #: The task no longer exists upstream (deleted outside vidgate).
    TASK_VANISHED = "TASK_VANISHED"
    #: The task was cancelled upstream, outside vidgate.
    CANCELLED_UPSTREAM = "CANCELLED_UPSTREAM"
    #: The output could not be copied into storage after every try.
    DOWNLOAD_FAILED = "DOWNLOAD_FAILED"
    #: The stored request no longer validates (a job made outside the API, or a catalog change).
    INVALID_REQUEST = "INVALID_REQUEST"
    #: A chain segment's last frame could not be taken or uploaded as the next start frame.
    CHAIN_FRAME_FAILED = "CHAIN_FRAME_FAILED"
    #: A chain's finished segments could not be joined into one video.
    CHAIN_JOIN_FAILED = "CHAIN_JOIN_FAILED"
    #: A chain segment failed without a code of its own.
    SEGMENT_FAILED = "SEGMENT_FAILED"
