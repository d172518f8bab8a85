"""Runway's organization endpoints, answered for the caller: its budget is its credit balance.

* ``GET /runway/v1/organization``: ``creditBalance`` is what the caller's budget still allows
  (the smaller of its day and month, :mod:`vidgate.tenancy.budgets`); without a budget, the
  provider's own balance. ``tier`` carries the month's limit and the provider's per-model limits;
  ``usage.models[m].dailyGenerations`` counts the caller's jobs of the model today (UTC).
* ``POST /runway/v1/organization/usage`` ``{startDate?, beforeDate?}``: the caller's credits by day
  and model (spent, and held by unfinished jobs), as Runway's report
  (default the 30 days up to today, at most 90).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from vidgate.api.deps import ContextDep
from vidgate.api.routes.runway.access import RunwayCallerDep, json_object
from vidgate.api.routes.runway.errors import RunwayRoute
from vidgate.api.routes.runway.tasks import whole_credits
from vidgate.clock import utcnow
from vidgate.errors import FieldProblem, ValidationFailed
from vidgate.provider.base import PROVIDER_WAIT_SECONDS
from vidgate.tenancy.budgets import BudgetStore
from vidgate.tenancy.spend import usage_by_day

__all__ = ["router"]

router = APIRouter(prefix="/runway/v1", route_class=RunwayRoute, include_in_schema=False)

_DEFAULT_DAYS = 30
_MAX_DAYS = 90


@router.get("/organization")
async def get_organization(ctx: ContextDep, caller: RunwayCallerDep) -> JSONResponse:
    runtime = ctx.runtime
    now = utcnow()
    snapshot, _ = await runtime.pipeline.limits.organization(wait_seconds=PROVIDER_WAIT_SECONDS)
    balance = snapshot.credit_balance if snapshot else None
    monthly: float | None = None
    if caller.owner is not None:
        standing = await BudgetStore(runtime.engine).standing(caller.owner, now)
        if standing is not None:
            lefts = [p.left for p in (standing.day, standing.month) if p.left is not None]
            balance = min(lefts) if lefts else balance
            monthly = standing.month.limit
    async with AsyncSession(runtime.engine) as session, session.begin():
        today = await usage_by_day(session, caller.owner, now.date(), now.date())
    daily: dict[str, int] = {}
    for row in today:
        daily[row.model] = daily.get(row.model, 0) + row.spend.jobs
    limits = snapshot.models if snapshot else {}
    return JSONResponse(
        {
            "creditBalance": whole_credits(balance),
            "tier": {
                "maxMonthlyCreditSpend": whole_credits(monthly),
                "models": {
                    model: {
                        "maxConcurrentGenerations": item.max_concurrent,
                        "maxDailyGenerations": item.max_daily,
                    }
                    for model, item in sorted(limits.items())
                },
            },
            "usage": {"models": {m: {"dailyGenerations": n} for m, n in sorted(daily.items())}},
        }
    )


def _date(body: dict[str, Any], name: str) -> date | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValidationFailed([FieldProblem(name, "must be a date YYYY-MM-DD")])


@router.post("/organization/usage")
async def get_usage(request: Request, ctx: ContextDep, caller: RunwayCallerDep) -> JSONResponse:
    raw = await request.body()
    body = await json_object(request) if raw.strip() else {}
    tomorrow = utcnow().date() + timedelta(days=1)
    start = _date(body, "startDate") or tomorrow - timedelta(days=_DEFAULT_DAYS)
    before = _date(body, "beforeDate") or start + timedelta(days=_DEFAULT_DAYS)
    if before <= start:
        raise ValidationFailed.single("beforeDate", "must be after startDate")
    if before - start > timedelta(days=_MAX_DAYS):
        raise ValidationFailed.single("beforeDate", f"at most {_MAX_DAYS} days after startDate")
    async with AsyncSession(ctx.runtime.engine) as session, session.begin():
        rows = await usage_by_day(session, caller.owner, start, before - timedelta(days=1))
    by_day: dict[date, dict[str, float]] = {}
    for row in rows:
        models = by_day.setdefault(row.day, {})
        models[row.model] = models.get(row.model, 0.0) + row.spend.spent + row.spend.reserved
    return JSONResponse(
        {
            "models": sorted({row.model for row in rows}),
            "results": [
                {
                    "date": day.isoformat(),
                    "usedCredits": [
                        {"model": model, "amount": whole_credits(amount)}
                        for model, amount in sorted(models.items())
                    ],
                }
                for day, models in sorted(by_day.items())
            ],
        }
    )
