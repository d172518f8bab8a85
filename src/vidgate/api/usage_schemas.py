"""The JSON bodies of ``GET /v1/usage``: spend by key, model and day, budgets, the tier's limits,
and credits spent upstream that no job accounts for. Same conventions as :mod:`.schemas`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from vidgate.api.schemas import ApiOut

__all__ = [
    "UsageBudgetOut",
    "UsageOrganizationOut",
    "UsageOut",
    "UsagePeriodOut",
    "UsageRowOut",
    "UsageTierOut",
    "UsageUnaccountedOut",
]


# --- usage --------------------------------------------------------------------------------------


class UsageRowOut(ApiOut):
    """One key's spend on one model on one UTC day (the day its jobs were created)."""

    key_id: str | None = Field(description="The API key; null for jobs made without one.")
    model: str
    day: date
    jobs: int
    spent_credits: float = Field(description="Actual cost of the finished jobs.")
    reserved_credits: float = Field(description="Estimates held by the unfinished jobs.")


class UsagePeriodOut(ApiOut):
    limit_credits: float | None = Field(description="The budget of the period; null: no limit.")
    since: datetime = Field(description="Start of the period (UTC midnight).")
    spent_credits: float
    reserved_credits: float
    left_credits: float | None = Field(description="What new jobs may still reserve.")


class UsageBudgetOut(ApiOut):
    key_id: str
    day: UsagePeriodOut
    month: UsagePeriodOut


class UsageTierOut(ApiOut):
    max_concurrent_generations: int | None = Field(description="null: unlimited.")
    max_daily_generations: int | None = Field(description="null: unlimited.")
    daily_generations: int = Field(description="Generations in the past 24 h, per the provider.")


class UsageOrganizationOut(ApiOut):
    credit_balance: float | None = Field(description="The organization's credits at the provider.")
    models: dict[str, UsageTierOut]
    read_at: datetime | None = Field(description="When vidgate read this from the provider.")


class UsageUnaccountedOut(ApiOut):
    """Credits the provider charged for a model on a day that no vidgate job accounts for."""

    day: date
    model: str
    credits: float


class UsageOut(ApiOut):
    from_: date = Field(alias="from", description="First day of the report (UTC).")
    to: date = Field(description="Last day of the report (UTC), included.")
    jobs: int
    spent_credits: float
    reserved_credits: float
    data: list[UsageRowOut] = Field(description="By day, key and model; empty days are left out.")
    budget: UsageBudgetOut | None = Field(
        None, description="The calling key's budget as it stands now; null without one."
    )
    organization: UsageOrganizationOut | None = Field(
        None, description="The provider's view; null when it could not be read."
    )
    unaccounted_credits: float = Field(
        0.0,
        description="Credits the provider's usage report shows in the period (its last days) "
        "that no job accounts for: spent upstream outside vidgate's knowledge.",
    )
    unaccounted: list[UsageUnaccountedOut] = Field(
        default_factory=list, description="The same by day and model."
    )
