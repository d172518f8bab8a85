"""Budgets: the credits an API key may spend per UTC day and per UTC month.

A budget is checked and the request's estimate reserved when a job is accepted, inside the
transaction that inserts the job (:func:`budget_reservation` is the hook
:meth:`~vidgate.jobs.store.JobStore.create_job` calls), under a lock per key: PostgreSQL locks the
key's ``budgets`` row (``SELECT ... FOR UPDATE``), SQLite's write transactions are serialised
anyway (``BEGIN IMMEDIATE``). So concurrent requests, in one process or many, cannot overspend:
each sees every job accepted before it.

There is no reservation record to settle or refund: a key's spend is summed from its jobs by the
rule in :mod:`vidgate.tenancy.spend` (active jobs reserve their estimate, finished ones count their
actual cost), so a job's reservation becomes its cost when it succeeds and is freed when it fails or
is cancelled with its credits refunded. A replay of a create (same Idempotency-Key) reserves nothing
more. A model without a known price cannot be run under a budget: its cost could not be reserved.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vidgate.clock import utcnow
from vidgate.db.dialect import for_update
from vidgate.db.engine import Transactions
from vidgate.errors import BudgetExceeded, NotFound, ValidationFailed
from vidgate.jobs.models import NO_OWNER
from vidgate.tenancy.spend import day_start, month_start, sum_spend
from vidgate.tenancy.tables import ApiKey, Budget

__all__ = [
    "BudgetStanding",
    "BudgetStore",
    "PeriodStanding",
    "Reservation",
    "budget_reservation",
    "standing_of",
]

# Credits are floats in the database; sums of them may carry rounding dust.
_EPSILON = 1e-6

#: What :meth:`~vidgate.jobs.store.JobStore.create_job` calls inside its transaction.
Reservation = Callable[[AsyncSession, datetime], Awaitable[None]]


def _credits(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class PeriodStanding:
    """One period (``day`` or ``month``) of a key's budget, as it stands."""

    period: str
    limit: float | None
    since: datetime
    spent: float
    reserved: float

    @property
    def left(self) -> float | None:
        """Credits still free in the period (never negative); None without a limit."""
        if self.limit is None:
            return None
        return max(self.limit - self.spent - self.reserved, 0.0)

    def describe(self, key_id: str) -> str:
        return (
            f"the {'daily' if self.period == 'day' else 'monthly'} budget of key {key_id} is "
            f"{_credits(self.limit or 0)} credits: {_credits(self.spent)} spent, "
            f"{_credits(self.reserved)} reserved by unfinished jobs, "
            f"{_credits(self.left or 0)} left"
        )


@dataclass(frozen=True)
class BudgetStanding:
    """A key's budget: both periods, each with its limit, spend and what is left."""

    key_id: str
    day: PeriodStanding
    month: PeriodStanding


async def standing_of(session: AsyncSession, budget: Budget, now: datetime) -> BudgetStanding:
    """How ``budget``'s key stands at ``now`` (read in ``session``)."""
    periods = []
    for period, limit, since in (
        ("day", budget.daily_credits, day_start(now)),
        ("month", budget.monthly_credits, month_start(now)),
    ):
        spend = await sum_spend(session, budget.key_id, since)
        periods.append(PeriodStanding(period, limit, since, spend.spent, spend.reserved))
    return BudgetStanding(budget.key_id, periods[0], periods[1])


@dataclass
class _HeldBudget:
    """A key's budget as one transaction sees it: read once, then kept up to date in memory."""

    budget: Budget
    standing: BudgetStanding
    #: Credits reserved by the jobs this transaction accepted after ``standing`` was read.
    added: float = 0.0


# Where a transaction keeps its _HeldBudget per key (``session.info``): a group commit accepts
# many jobs in one transaction, and re-reading the budget and the spend for each would cost two
# queries per job.
_HELD = "vidgate.tenancy.budgets.held"


def budget_reservation(
    owner: str | None,
    credits: float | None,
    *,
    model: str,
) -> Reservation:
    """The check a new job of ``owner`` estimated at ``credits`` must pass to be stored.

    Raises :class:`~vidgate.errors.BudgetExceeded` (402) naming the period, its limit, what is
    spent, reserved and left, when the estimate does not fit; nothing is stored then. The store
    calls it only for a job it is about to insert (a replay of an Idempotency-Key reserves
    nothing more).
    """

    async def reserve(session: AsyncSession, now: datetime) -> None:
        if not owner or owner == NO_OWNER:
            return
        held_by_key: dict[str, _HeldBudget | None] = session.info.setdefault(_HELD, {})
        if owner not in held_by_key:
            held_by_key[owner] = await _hold_budget(session, owner, now)
        held = held_by_key[owner]
        if held is None:
            return
        if credits is None:
            raise BudgetExceeded(
                f"{model} has no known price, so its cost cannot be reserved against the budget "
                f"of key {owner}; use a priced model (GET /v1/models shows costs) or remove the "
                "key's budget"
            )
        for period in (held.standing.day, held.standing.month):
            if period.limit is None:
                continue
            if period.spent + period.reserved + held.added + credits > period.limit + _EPSILON:
                standing = PeriodStanding(
                    period.period,
                    period.limit,
                    period.since,
                    period.spent,
                    period.reserved + held.added,
                )
                raise BudgetExceeded(
                    f"over budget: {standing.describe(owner)}; this request needs up to "
                    f"{_credits(credits)} credits"
                )
        held.added += credits

    return reserve


async def _hold_budget(session: AsyncSession, owner: str, now: datetime) -> _HeldBudget | None:
    """``owner``'s budget and standing, locked for the transaction; None without a limit."""
    stmt = select(Budget).where(Budget.key_id == owner).execution_options(populate_existing=True)
    # The per-key lock: held until the jobs are committed, so the next request sees them.
    stmt = for_update(stmt, session)
    budget = await session.scalar(stmt)
    if budget is None or (budget.daily_credits is None and budget.monthly_credits is None):
        return None
    # Read before this transaction adds any job of ``owner`` (each passes here first), so the
    # jobs it accepts from now on are counted once, in ``added``.
    return _HeldBudget(budget, await standing_of(session, budget, now))


class BudgetStore:
    """The ``budgets`` table: set, read and list budgets; report where a key stands."""

    def __init__(self, engine: AsyncEngine) -> None:
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing

    async def set_budget(
        self,
        key_id: str,
        *,
        daily: float | None,
        monthly: float | None,
        now: datetime | None = None,
    ) -> Budget | None:
        """Set both limits of ``key_id`` (None: no limit); both None removes the budget.

        A lower limit refuses new jobs only: jobs already accepted run on.
        """
        problems = [
            (name, value)
            for name, value in (("daily", daily), ("monthly", monthly))
            if value is not None and not (math.isfinite(value) and value >= 0)
        ]
        if problems:
            name, value = problems[0]
            raise ValidationFailed.single(name, f"must be a number of credits >= 0, got {value}")
        async with self._writing() as session:
            if await session.get(ApiKey, key_id) is None:
                raise NotFound(f"no API key {key_id}")
            await session.execute(delete(Budget).where(Budget.key_id == key_id))
            if daily is None and monthly is None:
                return None
            budget = Budget(
                key_id=key_id,
                daily_credits=daily,
                monthly_credits=monthly,
                updated_at=now or utcnow(),
            )
            session.add(budget)
        return budget

    async def get_budget(self, key_id: str) -> Budget | None:
        async with self._reading() as session:
            return await session.get(Budget, key_id)

    async def list_budgets(self) -> dict[str, Budget]:
        """Every budget, by key id."""
        async with self._reading() as session:
            return {b.key_id: b for b in await session.scalars(select(Budget))}

    async def standing(self, key_id: str, now: datetime | None = None) -> BudgetStanding | None:
        """Where ``key_id`` stands against its budget; None when it has none; NotFound when
        there is no such key."""
        async with self._reading() as session:
            budget = await session.get(Budget, key_id)
            if budget is None:
                if await session.get(ApiKey, key_id) is None:
                    raise NotFound(f"no API key {key_id}")
                return None
            return await standing_of(session, budget, now or utcnow())
