"""What jobs cost: the credits each job has spent or holds in reserve, summed by key, model, day.

One rule, shared by budgets (:mod:`vidgate.tenancy.budgets`) and ``GET /v1/usage``:

- an active job *reserves* its estimate: vidgate's catalog estimate when it is accepted, the
  provider's own once the upstream task exists;
- a job whose create may or may not have reached the provider (failed ``SUBMISSION_UNCERTAIN``:
  the answer was lost, the task may run and be billed) keeps its estimate *reserved* until it is
  reconciled with the provider's usage report (:mod:`vidgate.tenancy.reconcile`), which settles
  its cost: the estimate if the provider charged it, else 0;
- a finished job has *spent* its actual cost, ``cost.credits`` of its task (0 when the provider
  refunded it in full: failed and cancelled tasks usually are); a succeeded job whose provider
  reported no cost counts its estimate, a job that never reached the provider counts 0;
- a job counts on the UTC day (and month) it was created, the moment its budget was checked;
- only top-level jobs count (``parent_id IS NULL``): a chain's parent carries the whole chain's
  estimate and cost, so its segments would count it twice.

Nothing is written per job for this: sums are taken from the jobs table, so no crash can leave a
reservation behind or a refund unmade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from vidgate.db.dialect import utc_day
from vidgate.jobs.models import Job
from vidgate.jobs.status import ACTIVE_STATUSES, FailureCode, Status

__all__ = [
    "Spend",
    "UsageRow",
    "day_start",
    "month_start",
    "reserved_credits",
    "spent_credits",
    "sum_spend",
    "unsettled_uncertain",
    "usage_by_day",
]

_ZERO = literal(0.0)


def unsettled_uncertain() -> ColumnElement[bool]:
    """SQL: the job failed ``SUBMISSION_UNCERTAIN`` and is not reconciled yet (no cost)."""
    return (
        (Job.status == Status.FAILED)
        & (Job.failure_code == FailureCode.SUBMISSION_UNCERTAIN)
        & Job.cost_credits.is_(None)
    )


def spent_credits() -> ColumnElement[float]:
    """SQL: the credits a job has spent (0 while it is active)."""
    return case(
        (Job.status == Status.SUCCEEDED, func.coalesce(Job.cost_credits, Job.estimated_credits, 0)),
        (Job.status.in_([Status.FAILED, Status.CANCELLED]), func.coalesce(Job.cost_credits, 0)),
        else_=_ZERO,
    )


def reserved_credits() -> ColumnElement[float]:
    """SQL: the credits an active job holds in reserve (0 once it has finished), and an
    unreconciled uncertain submission its estimate."""
    return case(
        (
            Job.status.in_(list(ACTIVE_STATUSES)),
            func.coalesce(Job.cost_credits, Job.estimated_credits, 0),
        ),
        (unsettled_uncertain(), func.coalesce(Job.estimated_credits, 0)),
        else_=_ZERO,
    )


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: where a daily budget's period starts."""
    return datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)


def month_start(now: datetime) -> datetime:
    """Midnight UTC of the first of ``now``'s month: where a monthly budget's period starts."""
    return day_start(now).replace(day=1)


@dataclass(frozen=True)
class Spend:
    """One key's credits over a period."""

    spent: float
    reserved: float
    jobs: int

    @property
    def committed(self) -> float:
        """Spent plus reserved: what a budget must still cover."""
        return self.spent + self.reserved


async def sum_spend(
    session: AsyncSession, owner: str, since: datetime, until: datetime | None = None
) -> Spend:
    """The spend of ``owner``'s top-level jobs created in ``[since, until)``."""
    stmt = select(
        func.coalesce(func.sum(spent_credits()), 0),
        func.coalesce(func.sum(reserved_credits()), 0),
        func.count(),
    ).where(Job.owner == owner, Job.parent_id.is_(None), Job.created_at >= since)
    if until is not None:
        stmt = stmt.where(Job.created_at < until)
    spent, reserved, jobs = (await session.execute(stmt)).one()
    return Spend(float(spent), float(reserved), int(jobs))


@dataclass(frozen=True)
class UsageRow:
    """The spend of one key on one model on one UTC day."""

    owner: str
    model: str
    day: date
    spend: Spend


async def usage_by_day(
    session: AsyncSession, owner: str | None, first: date, last: date
) -> list[UsageRow]:
    """Spend by key, model and UTC day for days ``first`` to ``last`` inclusive.

    ``owner=None``: every key. Rows come sorted by day, key, model; days without jobs are absent.
    """
    day = utc_day(Job.created_at, session).label("day")
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    stmt = (
        select(
            Job.owner,
            Job.model,
            day,
            func.coalesce(func.sum(spent_credits()), 0),
            func.coalesce(func.sum(reserved_credits()), 0),
            func.count(),
        )
        .where(Job.parent_id.is_(None), Job.created_at >= since, Job.created_at < until)
        .group_by(Job.owner, Job.model, day)
        .order_by(day, Job.owner, Job.model)
    )
    if owner is not None:
        stmt = stmt.where(Job.owner == owner)
    rows = (await session.execute(stmt)).all()
    return [
        UsageRow(
            owner=row_owner,
            model=model,
            day=date.fromisoformat(day_text),
            spend=Spend(float(spent), float(reserved), int(jobs)),
        )
        for row_owner, model, day_text, spent, reserved, jobs in rows
    ]
