"""The JSON bodies of ``/v1/admin`` (the operator's console): keys, spend, failures, jobs, the
service. Same conventions as :mod:`.schemas` (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from vidgate.api.schemas import ApiIn, ApiOut
from vidgate.intake.console import NAME_MAX_CHARS, KeyRole, Status

__all__ = [
    "AdminBudgetIn",
    "AdminBudgetOut",
    "AdminCreatedKeyOut",
    "AdminFailureRowOut",
    "AdminFailuresOut",
    "AdminJobList",
    "AdminJobOut",
    "AdminKeyIn",
    "AdminKeyList",
    "AdminKeyOut",
    "AdminProviderOut",
    "AdminRoleIn",
    "AdminSlotsOut",
    "AdminSpendOut",
    "AdminSpendRowOut",
    "AdminStorageOut",
    "AdminSystemOut",
    "KeySpendOut",
]


# --- keys ---------------------------------------------------------------------------------------


class AdminBudgetOut(ApiOut):
    daily_credits: float | None = Field(description="Credits per UTC day; null: no limit.")
    monthly_credits: float | None = Field(description="Credits per UTC month; null: no limit.")


class KeySpendOut(ApiOut):
    spent_credits: float = Field(description="Actual cost of the finished jobs.")
    reserved_credits: float = Field(description="Estimates held by the unfinished jobs.")
    jobs: int


class AdminKeyOut(ApiOut):
    id: str
    name: str
    prefix: str = Field(description="The token's first characters.")
    role: KeyRole
    state: Literal["active", "revoked"]
    created_at: datetime
    revoked_at: datetime | None
    budget: AdminBudgetOut | None = Field(description="null: no budget.")
    today: KeySpendOut = Field(description="Jobs created today (UTC).")
    month: KeySpendOut = Field(description="Jobs created this month (UTC).")


class AdminKeyList(ApiOut):
    data: list[AdminKeyOut]


class AdminKeyIn(ApiIn):
    name: str = Field(min_length=1, max_length=NAME_MAX_CHARS, description="Who it is for.")
    role: KeyRole = Field(KeyRole.USER, description="`admin`: may use the console.")


class AdminCreatedKeyOut(ApiOut):
    id: str
    name: str
    role: KeyRole
    token: str = Field(description="Shown this once: only its hash is kept.")


class AdminRoleIn(ApiIn):
    role: KeyRole


class AdminBudgetIn(ApiIn):
    daily_credits: float | None = Field(None, ge=0, description="null: no daily limit.")
    monthly_credits: float | None = Field(None, ge=0, description="null: no monthly limit.")


# --- spend and failures ---------------------------------------------------------------------------


class AdminSpendRowOut(ApiOut):
    """One key's spend on one UTC day (the day its jobs were created), over every model."""

    day: date
    key_id: str | None = Field(description="null: jobs made without a key.")
    spent_credits: float
    reserved_credits: float
    jobs: int


class AdminSpendOut(ApiOut):
    from_: date = Field(alias="from")
    to: date
    data: list[AdminSpendRowOut] = Field(description="By day, then key; empty days are absent.")


class AdminFailureRowOut(ApiOut):
    day: date = Field(description="The UTC day the jobs failed.")
    code: str | None = Field(description="The failure code; null: a failure without one.")
    jobs: int


class AdminFailuresOut(ApiOut):
    from_: date = Field(alias="from")
    to: date
    data: list[AdminFailureRowOut] = Field(description="By day, then code.")


# --- jobs ---------------------------------------------------------------------------------------


class AdminJobOut(ApiOut):
    id: str
    key_id: str | None = Field(description="null: made without a key.")
    status: Status
    status_reason: str | None
    endpoint: str
    model: str
    prompt_text: str | None
    created_at: datetime
    finished_at: datetime | None
    estimated_credits: float | None
    cost_credits: float | None
    failure_code: str | None
    failure_message: str | None
    output_bytes: int | None
    parent_id: str | None = Field(description="The chain this job is a segment of.")


class AdminJobList(ApiOut):
    data: list[AdminJobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


# --- the service ----------------------------------------------------------------------------------


class AdminProviderOut(ApiOut):
    name: str
    state: Literal["closed", "open", "probing"] = Field(
        description="`open`: known down, new work refused until the next probe."
    )
    failures: int = Field(description="Calls failed in a row.")
    retry_after_seconds: float = Field(description="Until the next probe; 0 unless open.")
    key_refused: bool = Field(description="The provider refuses vidgate's API key.")
    last_error: str | None


class AdminSlotsOut(ApiOut):
    model: str
    in_use: int = Field(description="Tasks alive upstream now.")
    max_concurrent: int | None = Field(description="The tier's limit; null: none or unknown.")
    daily_used: int | None = Field(description="Generations in the past 24 h, per the provider.")
    max_daily: int | None


class AdminStorageOut(ApiOut):
    outputs: int = Field(description="Finished videos kept.")
    bytes: int = Field(description="Their size (posters and previews not counted).")


class AdminSystemOut(ApiOut):
    mode: Literal["emulator", "runway"]
    auth: Literal["off", "keys"]
    provider: AdminProviderOut
    slots: list[AdminSlotsOut] = Field(
        description="Per model; models without limits or tasks absent."
    )
    jobs: dict[Status, int] = Field(description="Jobs by status.")
    storage: AdminStorageOut
    credit_balance: float | None = Field(description="The organization's credits at the provider.")
    organization_read_at: datetime | None
