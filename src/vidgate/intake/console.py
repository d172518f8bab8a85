"""The operator's console: keys and their budgets, spend per key and day, every job with filters,
failures by code and day, the provider's circuit and tier slots, storage used.

The use cases behind ``/console`` and ``/v1/admin`` (the route only checks that the caller is the
operator and shapes the JSON). Reads span every key; spend follows the one rule of
:mod:`vidgate.tenancy.spend` (a job counts on the UTC day it was created), failures count on the
day the job ended.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.clock import utcnow
from vidgate.db.engine import Transactions
from vidgate.errors import NotFound
from vidgate.jobs.models import NO_OWNER, Job
from vidgate.jobs.queries import FailureCount, JobPage, StoredOutputs
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.provider.base import PROVIDER_WAIT_SECONDS
from vidgate.provider.health import ProviderHealth, ProviderStatus
from vidgate.provider.limits import ProviderLimits
from vidgate.tenancy.budgets import BudgetStore
from vidgate.tenancy.keys import NAME_MAX_CHARS, CreatedKey, KeyStore
from vidgate.tenancy.spend import Spend, UsageRow, usage_by_day
from vidgate.tenancy.tables import ApiKey, Budget, KeyRole

# The names a translator of this module needs (so a route imports nothing from the rooms below).
__all__ = [
    "NAME_MAX_CHARS",
    "REPORT_MAX_DAYS",
    "WITHOUT_KEY",
    "ConsoleKey",
    "DayReport",
    "FailureCount",
    "Job",
    "KeyDay",
    "KeyRole",
    "ModelSlots",
    "OperatorConsole",
    "Status",
    "SystemView",
    "key_of",
]

#: The longest span of days a chart may ask for.
REPORT_MAX_DAYS = 366
#: The key filter of :meth:`OperatorConsole.list_jobs` that means "made without a key".
WITHOUT_KEY = "none"


def key_of(job: Job) -> str | None:
    """The id of the key that made ``job``; None when it was made without one."""
    return _key_of(job.owner)


def _key_of(owner: str) -> str | None:
    return None if owner == NO_OWNER else owner


@dataclass(frozen=True)
class ConsoleKey:
    """A key as the console lists it: its row, its budget, what it spent today and this month."""

    key: ApiKey
    budget: Budget | None
    today: Spend
    month: Spend


@dataclass(frozen=True)
class KeyDay:
    """One key's spend on one UTC day, over every model."""

    day: date
    #: None: jobs made without a key.
    key_id: str | None
    spend: Spend


_Row = TypeVar("_Row")


@dataclass(frozen=True)
class DayReport(Generic[_Row]):
    """Rows over the UTC days ``first`` to ``last`` inclusive."""

    first: date
    last: date
    rows: list[_Row]


@dataclass(frozen=True)
class ModelSlots:
    """One model's tier slots: tasks alive upstream now against its limits (None: unlimited or
    unknown)."""

    model: str
    in_use: int
    max_concurrent: int | None
    daily_used: int | None
    max_daily: int | None


@dataclass(frozen=True)
class SystemView:
    """The service at a glance: the provider's circuit, tier slots, jobs, storage, credits."""

    provider: ProviderStatus
    #: The last failure the circuit recorded (kept until a success clears it).
    provider_error: str | None
    slots: list[ModelSlots]
    jobs_by_status: dict[Status, int]
    stored: StoredOutputs
    #: The organization's credits at the provider (None: not read yet).
    credit_balance: float | None
    #: When the tier limits and balance were read from the provider.
    organization_read_at: datetime | None


def _days(days: int, today: date) -> tuple[date, date]:
    """The last ``days`` UTC days up to ``today``, as (first, last)."""
    if not 1 <= days <= REPORT_MAX_DAYS:
        raise ValueError(f"days must be 1 to {REPORT_MAX_DAYS}")
    return today - timedelta(days=days - 1), today


class OperatorConsole:
    """What the operator reads and changes; every method spans all keys."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        store: JobStore,
        keys: KeyStore,
        provider_health: ProviderHealth,
        limits: ProviderLimits,
    ) -> None:
        self._reading = Transactions(engine).reading
        self.store = store
        self.keys = keys
        self.budgets = BudgetStore(engine)
        self.provider_health = provider_health
        self.limits = limits

    # --- keys ------------------------------------------------------------------------------------

    async def list_keys(self, now: datetime | None = None) -> list[ConsoleKey]:
        """Every key (revoked ones too), oldest first, with its budget and recent spend."""
        now = now or utcnow()
        today = now.date()
        keys = await self.keys.list_keys()
        budgets = await self.budgets.list_budgets()
        day: dict[str, list[Spend]] = defaultdict(list)
        month: dict[str, list[Spend]] = defaultdict(list)
        for row in await self._usage(today.replace(day=1), today):
            month[row.owner].append(row.spend)
            if row.day == today:
                day[row.owner].append(row.spend)
        return [
            ConsoleKey(key, budgets.get(key.id), _total(day[key.id]), _total(month[key.id]))
            for key in keys
        ]

    async def get_key(self, key_id: str, now: datetime | None = None) -> ConsoleKey:
        """One key as :meth:`list_keys` shows it; NotFound if there is none."""
        for listed in await self.list_keys(now):
            if listed.key.id == key_id:
                return listed
        raise NotFound(f"no API key {key_id}")

    async def create_key(self, name: str, role: KeyRole) -> CreatedKey:
        return await self.keys.create_key(name, role=role)

    async def revoke_key(self, key_id: str) -> ApiKey:
        return await self.keys.revoke_key(key_id)

    async def set_role(self, key_id: str, role: KeyRole) -> ApiKey:
        return await self.keys.set_role(key_id, role)

    async def set_budget(
        self, key_id: str, *, daily: float | None, monthly: float | None
    ) -> Budget | None:
        """Both limits of ``key_id`` (None: no limit); both None removes the budget."""
        return await self.budgets.set_budget(key_id, daily=daily, monthly=monthly)

    # --- spend and failures ----------------------------------------------------------------------

    async def spend_by_key(self, days: int, now: datetime | None = None) -> DayReport[KeyDay]:
        """Spend per key per UTC day over the last ``days`` days, by day then key; days and keys
        without jobs are absent."""
        first, last = _days(days, (now or utcnow()).date())
        by_key_day: dict[tuple[date, str], list[Spend]] = defaultdict(list)
        for row in await self._usage(first, last):
            by_key_day[row.day, row.owner].append(row.spend)
        rows = [
            KeyDay(day, _key_of(owner), _total(spends))
            for (day, owner), spends in sorted(by_key_day.items())
        ]
        return DayReport(first, last, rows)

    async def failures_by_code(
        self, days: int, now: datetime | None = None
    ) -> DayReport[FailureCount]:
        """Failed jobs per failure code per UTC day over the last ``days`` days."""
        first, last = _days(days, (now or utcnow()).date())
        return DayReport(first, last, await self.store.failures_by_day(first, last))

    async def _usage(self, first: date, last: date) -> list[UsageRow]:
        async with self._reading() as session:
            return await usage_by_day(session, None, first, last)

    # --- jobs ------------------------------------------------------------------------------------

    async def list_jobs(
        self,
        *,
        status: Status | Collection[Status] | None = None,
        model: str | None = None,
        key_id: str | None = None,
        failure_code: str | None = None,
        text: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of every key's jobs, newest first; ``key_id`` :data:`WITHOUT_KEY`: the jobs
        made without a key."""
        return await self.store.list_jobs(
            NO_OWNER if key_id == WITHOUT_KEY else key_id,
            status=status,
            model=model,
            failure_code=failure_code,
            text=text,
            limit=limit,
            cursor=cursor,
        )

    # --- the service -----------------------------------------------------------------------------

    async def system(self) -> SystemView:
        provider = await self.provider_health.status()
        circuit = await self.provider_health.current()
        organization, read_at = await self.limits.organization(wait_seconds=PROVIDER_WAIT_SECONDS)
        in_use = await self.store.slots_in_use()
        tiers = organization.models if organization else {}
        slots = [
            ModelSlots(
                model=model,
                in_use=in_use.get(model, 0),
                max_concurrent=tiers[model].max_concurrent if model in tiers else None,
                daily_used=tiers[model].daily_used if model in tiers else None,
                max_daily=tiers[model].max_daily if model in tiers else None,
            )
            for model in sorted(set(in_use) | set(tiers))
        ]
        return SystemView(
            provider=provider,
            provider_error=circuit.last_error,
            slots=slots,
            jobs_by_status=await self.store.count_by_status(),
            stored=await self.store.stored_outputs(),
            credit_balance=organization.credit_balance if organization else None,
            organization_read_at=read_at,
        )


def _total(spends: list[Spend]) -> Spend:
    return Spend(
        spent=sum(s.spent for s in spends),
        reserved=sum(s.reserved for s in spends),
        jobs=sum(s.jobs for s in spends),
    )
