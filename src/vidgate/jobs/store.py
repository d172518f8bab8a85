"""The durable job store: every read and write of jobs, attempts and events, on SQLAlchemy.

Concurrency rules the worker relies on:

- Every change is a compare-and-set on ``jobs.version`` (:meth:`JobStore.update_job`); a writer
  holding an old snapshot gets :class:`StaleJob` and must re-read and decide again.
- :meth:`JobStore.claim_due_jobs` leases due jobs atomically (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``; SQLite: one ``UPDATE ... RETURNING`` under ``BEGIN IMMEDIATE``) and bumps their
  version, so a worker whose lease expired and was taken over loses its next compare-and-set.
- Every status or progress change appends a :class:`~vidgate.jobs.models.JobEvent` in the same
  transaction. On PostgreSQL event writers queue on an advisory lock held until commit, so event
  ids become visible in id order and a reader resuming after id N never skips one.

Owners: ``owner=None`` when *creating* means "no API key" (stored as ``''``); ``owner=None`` when
*reading* means "any owner" (internal callers such as the worker).
"""

from __future__ import annotations

from vidgate.jobs.creation import CreatedJob, JobCreation, hash_request
from vidgate.jobs.leases import JobLeases
from vidgate.jobs.queries import JobPage, JobQueries
from vidgate.jobs.submissions import JobSubmissions, SubmitSlots
from vidgate.jobs.versioned import JobChanges, StaleJob

__all__ = [
    "CreatedJob",
    "JobChanges",
    "JobPage",
    "JobStore",
    "StaleJob",
    "SubmitSlots",
    "hash_request",
]


class JobStore(JobCreation, JobQueries, JobLeases, JobSubmissions):
    """Jobs, attempts and events in one SQL database (SQLite or PostgreSQL).

    One face over the store's parts, each a module: creating (:mod:`~vidgate.jobs.creation`),
    reading (:mod:`~vidgate.jobs.queries`), compare-and-set (:mod:`~vidgate.jobs.versioned`),
    leases (:mod:`~vidgate.jobs.leases`), submissions (:mod:`~vidgate.jobs.submissions`).
    Methods return detached ORM objects: snapshots to read, not to modify. Every method is one
    short transaction, committed before it returns. Times default to now (UTC); pass ``now`` to
    control the clock.
    """
