"""The operator's console: the page at ``/console`` and its JSON API under ``/v1/admin``.

Both answer the operator only: an admin key (``vidgate keys create --admin``), or anyone on a
server without auth (loopback, no key yet). A plain key gets 403 ``admin_required``. The page
itself is the same static file for everyone (it holds no data, and a browser cannot send a key
when it opens a URL): it asks for a key when the server wants one and reads everything through
``/v1/admin``; a request for it that does carry a key is checked like the API's. What the routes
read and change is :class:`~vidgate.intake.console.OperatorConsole`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from vidgate.api.console_schemas import (
    AdminBudgetIn,
    AdminBudgetOut,
    AdminCreatedKeyOut,
    AdminFailureRowOut,
    AdminFailuresOut,
    AdminJobList,
    AdminJobOut,
    AdminKeyIn,
    AdminKeyList,
    AdminKeyOut,
    AdminProviderOut,
    AdminRoleIn,
    AdminSlotsOut,
    AdminSpendOut,
    AdminSpendRowOut,
    AdminStorageOut,
    AdminSystemOut,
    KeySpendOut,
)
from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.routes.web import page_file
from vidgate.intake.console import (
    REPORT_MAX_DAYS,
    WITHOUT_KEY,
    ConsoleKey,
    Job,
    OperatorConsole,
    Status,
    key_of,
)

__all__ = ["ConsoleDep", "DaysQuery", "get_console", "router"]

router = APIRouter(tags=["admin"])


async def get_console(ctx: ContextDep, caller: CallerDep) -> OperatorConsole:
    """The console, for the operator only (403 ``admin_required`` for a plain key)."""
    caller.require_admin()
    return ctx.console


ConsoleDep = Annotated[OperatorConsole, Depends(get_console)]
DaysQuery = Annotated[
    int, Query(ge=1, le=REPORT_MAX_DAYS, description="How many UTC days, ending today.")
]


@router.api_route("/console", methods=["GET", "HEAD"], include_in_schema=False)
async def console_page(request: Request, ctx: ContextDep) -> Response:
    """The console page; a request carrying a key must carry an admin key."""
    authorization = request.headers.get("authorization")
    if authorization:
        caller = await ctx.auth.caller(authorization)
        ctx.limiter.admit(caller.rate_key)
        caller.require_admin()
    return page_file("console.html")


# --- the service --------------------------------------------------------------------------------


@router.get(
    "/v1/admin/system",
    response_model=AdminSystemOut,
    responses=error_responses(403),
    summary="The provider's circuit, tier slots per model, jobs by status, storage used",
)
async def get_system(ctx: ContextDep, console: ConsoleDep) -> AdminSystemOut:
    view = await console.system()
    provider = view.provider
    return AdminSystemOut(
        mode="emulator" if ctx.runtime.emulator_mode else "runway",
        auth="keys" if await ctx.auth.auth_enabled() else "off",
        provider=AdminProviderOut(
            name=provider.provider,
            state=provider.state.value,
            failures=provider.failures,
            retry_after_seconds=provider.retry_after,
            key_refused=provider.key_refused,
            last_error=view.provider_error,
        ),
        slots=[
            AdminSlotsOut(
                model=s.model,
                in_use=s.in_use,
                max_concurrent=s.max_concurrent,
                daily_used=s.daily_used,
                max_daily=s.max_daily,
            )
            for s in view.slots
        ],
        jobs=view.jobs_by_status,
        storage=AdminStorageOut(outputs=view.stored.outputs, bytes=view.stored.bytes),
        credit_balance=view.credit_balance,
        organization_read_at=view.organization_read_at,
    )


# --- keys ---------------------------------------------------------------------------------------


def _key_out(listed: ConsoleKey) -> AdminKeyOut:
    key, budget = listed.key, listed.budget
    return AdminKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        state="revoked" if key.revoked_at else "active",
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        budget=None
        if budget is None
        else AdminBudgetOut(
            daily_credits=budget.daily_credits, monthly_credits=budget.monthly_credits
        ),
        today=KeySpendOut(
            spent_credits=listed.today.spent,
            reserved_credits=listed.today.reserved,
            jobs=listed.today.jobs,
        ),
        month=KeySpendOut(
            spent_credits=listed.month.spent,
            reserved_credits=listed.month.reserved,
            jobs=listed.month.jobs,
        ),
    )


@router.get(
    "/v1/admin/keys",
    response_model=AdminKeyList,
    responses=error_responses(403),
    summary="Every API key: role, state, budget, spend today and this month",
)
async def list_keys(console: ConsoleDep) -> AdminKeyList:
    return AdminKeyList(data=[_key_out(k) for k in await console.list_keys()])


@router.post(
    "/v1/admin/keys",
    status_code=201,
    response_model=AdminCreatedKeyOut,
    responses=error_responses(403),
    summary="Make an API key; its token is in this answer only",
)
async def create_key(body: AdminKeyIn, console: ConsoleDep) -> AdminCreatedKeyOut:
    created = await console.create_key(body.name, body.role)
    key = created.key
    return AdminCreatedKeyOut(id=key.id, name=key.name, role=key.role, token=created.token)


@router.post(
    "/v1/admin/keys/{key_id}/revoke",
    response_model=AdminKeyOut,
    responses=error_responses(403, 404),
    summary="Revoke an API key: its next request is refused (401)",
)
async def revoke_key(key_id: str, console: ConsoleDep) -> AdminKeyOut:
    await console.revoke_key(key_id)
    return _key_out(await console.get_key(key_id))


@router.put(
    "/v1/admin/keys/{key_id}/role",
    response_model=AdminKeyOut,
    responses=error_responses(403, 404),
    summary="Make a key an admin key, or a plain one",
)
async def set_role(key_id: str, body: AdminRoleIn, console: ConsoleDep) -> AdminKeyOut:
    await console.set_role(key_id, body.role)
    return _key_out(await console.get_key(key_id))


@router.put(
    "/v1/admin/keys/{key_id}/budget",
    response_model=AdminKeyOut,
    responses=error_responses(403, 404),
    summary="Set a key's daily and monthly credit limits (null: no limit)",
)
async def set_budget(key_id: str, body: AdminBudgetIn, console: ConsoleDep) -> AdminKeyOut:
    await console.set_budget(key_id, daily=body.daily_credits, monthly=body.monthly_credits)
    return _key_out(await console.get_key(key_id))


# --- spend and failures ---------------------------------------------------------------------------


@router.get(
    "/v1/admin/spend",
    response_model=AdminSpendOut,
    responses=error_responses(403),
    summary="Spend per key per UTC day",
)
async def get_spend(console: ConsoleDep, days: DaysQuery = 30) -> AdminSpendOut:
    report = await console.spend_by_key(days)
    return AdminSpendOut(
        from_=report.first,
        to=report.last,
        data=[
            AdminSpendRowOut(
                day=row.day,
                key_id=row.key_id,
                spent_credits=row.spend.spent,
                reserved_credits=row.spend.reserved,
                jobs=row.spend.jobs,
            )
            for row in report.rows
        ],
    )


@router.get(
    "/v1/admin/failures",
    response_model=AdminFailuresOut,
    responses=error_responses(403),
    summary="Failed jobs per failure code per UTC day",
)
async def get_failures(console: ConsoleDep, days: DaysQuery = 30) -> AdminFailuresOut:
    report = await console.failures_by_code(days)
    return AdminFailuresOut(
        from_=report.first,
        to=report.last,
        data=[AdminFailureRowOut(day=r.day, code=r.code, jobs=r.jobs) for r in report.rows],
    )


# --- jobs ---------------------------------------------------------------------------------------


def _job_out(job: Job) -> AdminJobOut:
    prompt = job.request.get("promptText")
    return AdminJobOut(
        id=job.id,
        key_id=key_of(job),
        status=job.status,
        status_reason=job.status_reason,
        endpoint=job.endpoint,
        model=job.model,
        prompt_text=prompt if isinstance(prompt, str) else None,
        created_at=job.created_at,
        finished_at=job.finished_at,
        estimated_credits=job.estimated_credits,
        cost_credits=job.cost_credits,
        failure_code=job.failure_code,
        failure_message=job.failure_message,
        output_bytes=job.output_bytes,
        parent_id=job.parent_id,
    )


@router.get(
    "/v1/admin/jobs",
    response_model=AdminJobList,
    responses=error_responses(403),
    summary="Every key's jobs, newest first, filtered",
)
async def list_jobs(
    console: ConsoleDep,
    status: Annotated[Status | None, Query(description="Only jobs in this status.")] = None,
    model: Annotated[str | None, Query(max_length=64, description="Only this model.")] = None,
    key: Annotated[
        str | None,
        Query(max_length=64, description=f"Only this key's jobs; `{WITHOUT_KEY}`: made without."),
    ] = None,
    failure_code: Annotated[
        str | None, Query(alias="failureCode", max_length=64, description="Only this code.")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="The job's id, or text in its prompt or failure."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`nextCursor` of the previous page.")
    ] = None,
) -> AdminJobList:
    page = await console.list_jobs(
        status=status,
        model=model,
        key_id=key,
        failure_code=failure_code,
        text=q,
        limit=limit,
        cursor=cursor,
    )
    return AdminJobList(data=[_job_out(j) for j in page.jobs], next_cursor=page.next_cursor)
