"""``GET /v1/usage``: spend by key, model and day, the caller's budget, and the provider's view.

A key sees its own jobs and budget. Without auth (a loopback server with no keys), the caller is
the operator and sees every key's jobs. The organization part (credit balance, tier limits and
today's generations per model) is vidgate's cached read of the provider's ``GET /v1/organization``,
at most a minute old (``VIDGATE_PROVIDER_LIMITS_REFRESH_SECONDS``).
Credits the provider's usage report shows that no job accounts for come from
:mod:`vidgate.tenancy.reconcile` (which also settles uncertain submissions, reserved until then).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.usage_schemas import (
    UsageBudgetOut,
    UsageOrganizationOut,
    UsageOut,
    UsagePeriodOut,
    UsageRowOut,
    UsageTierOut,
    UsageUnaccountedOut,
)
from vidgate.clock import utcnow
from vidgate.errors import ValidationFailed
from vidgate.jobs.models import NO_OWNER
from vidgate.provider.base import PROVIDER_WAIT_SECONDS
from vidgate.tenancy.budgets import BudgetStore, PeriodStanding
from vidgate.tenancy.spend import usage_by_day

__all__ = ["USAGE_MAX_DAYS", "router"]

router = APIRouter(tags=["usage"])

#: The longest report one request may ask for.
USAGE_MAX_DAYS = 366


def _period(period: PeriodStanding) -> UsagePeriodOut:
    return UsagePeriodOut(
        limit_credits=period.limit,
        since=period.since,
        spent_credits=period.spent,
        reserved_credits=period.reserved,
        left_credits=period.left,
    )


@router.get(
    "/v1/usage",
    response_model=UsageOut,
    responses=error_responses(),
    summary="Spend by key, model and day; your budget; the provider's credit balance",
)
async def get_usage(
    ctx: ContextDep,
    caller: CallerDep,
    first: Annotated[
        date | None,
        Query(
            alias="from", description="First day (UTC, YYYY-MM-DD); default: the 1st of this month."
        ),
    ] = None,
    last: Annotated[
        date | None,
        Query(alias="to", description="Last day, included (UTC); default: today."),
    ] = None,
) -> UsageOut:
    runtime = ctx.runtime
    now = utcnow()
    last = last or now.date()
    first = first or last.replace(day=1)
    if last < first:
        raise ValidationFailed.single("to", "must not be before `from`")
    if last - first >= timedelta(days=USAGE_MAX_DAYS):
        raise ValidationFailed.single("to", f"at most {USAGE_MAX_DAYS} days after `from`")
    async with AsyncSession(runtime.engine) as session, session.begin():
        rows = await usage_by_day(session, caller.owner, first, last)
    data = [
        UsageRowOut(
            key_id=row.owner if row.owner != NO_OWNER else None,
            model=row.model,
            day=row.day,
            jobs=row.spend.jobs,
            spent_credits=row.spend.spent,
            reserved_credits=row.spend.reserved,
        )
        for row in rows
    ]
    budget = None
    if caller.owner is not None:
        standing = await BudgetStore(runtime.engine).standing(caller.owner, now)
        if standing is not None:
            budget = UsageBudgetOut(
                key_id=standing.key_id, day=_period(standing.day), month=_period(standing.month)
            )
    snapshot, read_at = await runtime.pipeline.limits.organization(
        wait_seconds=PROVIDER_WAIT_SECONDS
    )
    organization = None
    if snapshot is not None:
        organization = UsageOrganizationOut(
            credit_balance=snapshot.credit_balance,
            models={
                model: UsageTierOut(
                    max_concurrent_generations=limits.max_concurrent,
                    max_daily_generations=limits.max_daily,
                    daily_generations=limits.daily_used,
                )
                for model, limits in sorted(snapshot.models.items())
            },
            read_at=read_at,
        )
    reconciliation = await runtime.usage.current()
    unaccounted = [
        UsageUnaccountedOut(day=u.day, model=u.model, credits=u.credits)
        for u in reconciliation.unaccounted
        if first <= u.day <= last
    ]
    return UsageOut(
        from_=first,
        to=last,
        jobs=sum(r.jobs for r in data),
        spent_credits=sum(r.spent_credits for r in data),
        reserved_credits=sum(r.reserved_credits for r in data),
        data=data,
        budget=budget,
        organization=organization,
        unaccounted_credits=sum(u.credits for u in unaccounted),
        unaccounted=unaccounted,
    )
