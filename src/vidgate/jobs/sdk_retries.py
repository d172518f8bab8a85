"""The SDK-retry match, inside a create's transaction: one job for a request and its retries.

The SDKs retry a create after a timeout, a dropped connection, 429 or 5xx, with no idempotency
key, marking the retry (``x-stainless-retry-count`` >= 1); a retry may arrive while its original
is still being handled. Each job made through an SDK surface holds its request hash in
``jobs.sdk_request_key``, unique per owner, so two identical creates can never both insert: the
loser of the race re-reads and decides again (:mod:`vidgate.jobs.creation`). With the key's
holder in hand, :meth:`SdkAttempt.answers` decides:

* a retry answers the caller's job holding the key if it was made within the window;
* an original (no retry mark) answers a job that a retry made after the original arrived (its
  own retry, which overtook it), once;
* anything else makes a new job, which takes the key over from the older one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vidgate.jobs.models import Job
from vidgate.jobs.versioned import ORM_UPDATE

__all__ = ["SdkAttempt", "SdkKey", "jobs_by_sdk_key", "release_sdk_key", "settle_original"]

#: (owner, request hash): what one job holds while SDK retries of its request may come.
SdkKey = tuple[str, str]
#: The rows a batch is about to insert, by job id (changed in place until they are).
BatchRows = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class SdkAttempt:
    """One create through an SDK surface, as the SDK-retry match sees it."""

    #: The SDK marked the request as its own retry (``x-stainless-retry-count`` >= 1).
    retry: bool
    #: When the request arrived (before its body was read).
    received_at: datetime
    #: How far back a retry's original may lie.
    window: timedelta

    def answers(self, held: Job, now: datetime) -> bool:
        """Whether ``held``, the caller's job holding this request's key, is this request's job."""
        if self.retry:
            return held.created_at >= now - self.window
        # An original answers a job its own retry made while the original was on its way.
        return held.sdk_original_pending and held.created_at >= self.received_at


async def jobs_by_sdk_key(
    session: AsyncSession, keys: Iterable[SdkKey | None]
) -> dict[SdkKey, Job]:
    """The stored jobs holding ``keys`` (None: no key; skipped)."""
    by_owner: dict[str, set[str]] = {}
    for key in keys:
        if key is not None:
            by_owner.setdefault(key[0], set()).add(key[1])
    if not by_owner:
        return {}
    # One query, per owner so the (owner, sdk_request_key) unique index serves it.
    stmt = select(Job).where(
        or_(
            *(
                (Job.owner == owner) & Job.sdk_request_key.in_(sorted(hashes))
                for owner, hashes in by_owner.items()
            )
        )
    )
    return {
        (job.owner, job.sdk_request_key): job
        for job in await session.scalars(stmt)
        if job.sdk_request_key is not None
    }


async def settle_original(session: AsyncSession, held: Job, batch_rows: BatchRows) -> Job:
    """``held`` with its original seen: no other original may answer it."""
    row = batch_rows.get(held.id)
    if row is not None:
        row["sdk_original_pending"] = False
        return Job(**row)
    stmt = (
        update(Job)
        .where(Job.id == held.id)
        .values(sdk_original_pending=False)
        .returning(Job)
        .execution_options(**ORM_UPDATE)
    )
    return (await session.scalars(stmt)).one()


async def release_sdk_key(session: AsyncSession, held: Job, batch_rows: BatchRows) -> None:
    """A new job takes the key over: ``held`` (older) is matched no more."""
    row = batch_rows.get(held.id)
    if row is not None:
        row["sdk_request_key"] = None
        return
    await session.execute(
        update(Job)
        .where(Job.id == held.id, Job.sdk_request_key == held.sdk_request_key)
        .values(sdk_request_key=None)
        .execution_options(synchronize_session=False)
    )
