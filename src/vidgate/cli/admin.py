"""``vidgate keys``: API keys, their budgets and their default webhook, on the local database."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from vidgate.cli.output import Column, fail, json_option, out, print_json, print_table

if TYPE_CHECKING:
    from vidgate.tenancy.budgets import BudgetStore
    from vidgate.tenancy.keys import KeyStore
    from vidgate.tenancy.tables import ApiKey, Budget
    from vidgate.webhooks.store import WebhookStore

__all__ = ["keys_app"]

_T = TypeVar("_T")

keys_app = typer.Typer(help="API keys: create, list, revoke, budget.", no_args_is_help=True)


def _run_async(make: Callable[[], Awaitable[_T]]) -> _T:
    import asyncio

    from vidgate.errors import VidgateError

    try:
        return asyncio.run(make())  # type: ignore[arg-type]
    except VidgateError as exc:
        raise fail(exc) from exc


def _with_keys(action: Callable[[KeyStore], Awaitable[_T]]) -> _T:
    from vidgate.runtime import open_key_store
    from vidgate.settings import load_settings

    async def run() -> _T:
        async with open_key_store(load_settings()) as keys:
            return await action(keys)

    return _run_async(run)


def _with_budgets(action: Callable[[BudgetStore], Awaitable[_T]]) -> _T:
    from vidgate.runtime import open_budget_store
    from vidgate.settings import load_settings

    async def run() -> _T:
        async with open_budget_store(load_settings()) as store:
            return await action(store)

    return _run_async(run)


def _with_webhooks(action: Callable[[WebhookStore], Awaitable[_T]]) -> _T:
    from vidgate.migrations import open_migrated_engine
    from vidgate.settings import load_settings
    from vidgate.webhooks.sealing import SecretSealer
    from vidgate.webhooks.store import WebhookStore

    async def run() -> _T:
        settings = load_settings()
        async with open_migrated_engine(settings) as engine:
            return await action(WebhookStore(engine, SecretSealer.from_settings(settings)))

    return _run_async(run)


def _check_webhook_url(url: str) -> None:
    """The API's rules for a webhook URL (address, port, public DNS); exit 2 naming the rule."""
    from vidgate.errors import ValidationFailed
    from vidgate.settings import load_settings
    from vidgate.webhooks.policy import WebhookUrlPolicy

    async def problems(hooks: WebhookStore) -> list[str]:
        policy = WebhookUrlPolicy(settings=load_settings(), store=hooks)
        found = await policy.problems(url, field="--webhook-url", owner=None, need_secret=False)
        return [p.message for p in found]

    found = _with_webhooks(problems)
    if found:
        raise fail(ValidationFailed.single("--webhook-url", "; ".join(found)))


@keys_app.command("create")
def keys_create_command(
    name: str = typer.Option(..., "--name", "-n", help="Who or what the key is for."),
    webhook_url: str | None = typer.Option(
        None,
        "--webhook-url",
        help="Default https URL for the key's webhooks; also makes and prints a signing secret.",
    ),
    admin: bool = typer.Option(
        False, "--admin", help="An admin key: it may also use the operator's console (/console)."
    ),
) -> None:
    """Make an API key and print its token, once: it is stored only as a hash."""
    from vidgate.tenancy.tables import KeyRole

    if webhook_url is not None:
        _check_webhook_url(webhook_url)
    role = KeyRole.ADMIN if admin else KeyRole.USER
    created = _with_keys(lambda keys: keys.create_key(name, role=role))
    out.print(f"created {role.value} API key {created.key.id} ({created.key.name})")
    out.print(f"token: {created.token}")
    if webhook_url is not None:
        secret = _with_webhooks(lambda hooks: hooks.set_default_url(created.key.id, webhook_url))[1]
        out.print(f"webhooks go to {webhook_url}")
        out.print(f"webhook signing secret: {secret}")
    out.print("store the token now: it cannot be shown again")


def _budget_text(budget: Budget | None) -> str:
    if budget is None:
        return "-"
    parts = [
        f"{limit:g}/{period}"
        for limit, period in ((budget.daily_credits, "day"), (budget.monthly_credits, "month"))
        if limit is not None
    ]
    return ", ".join(parts) + " credits"


def _key_json(key: ApiKey, budget: Budget | None) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role.value,
        "createdAt": key.created_at.isoformat(),
        "revokedAt": key.revoked_at.isoformat() if key.revoked_at else None,
        "budget": None
        if budget is None
        else {"dailyCredits": budget.daily_credits, "monthlyCredits": budget.monthly_credits},
    }


@keys_app.command("list")
def keys_list_command(as_json: bool = json_option()) -> None:
    """List the API keys (never their tokens), their roles and budgets."""
    found = _with_keys(lambda keys: keys.list_keys())
    budgets = _with_budgets(lambda store: store.list_budgets())
    if as_json:
        print_json([_key_json(key, budgets.get(key.id)) for key in found])
        return
    columns = [
        Column("id", keep=True),
        Column("name"),
        Column("role", keep=True),
        Column("token starts", keep=True, drop=2),
        Column("created", drop=3),
        Column("state", drop=1),
        Column("budget"),
    ]
    rows = [
        [
            key.id,
            key.name,
            key.role.value,
            key.prefix + "...",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active",
            _budget_text(budgets.get(key.id)),
        ]
        for key in found
    ]
    print_table("API keys", columns, rows)


def _limit(budget: Budget | None, period: str) -> float | None:
    if budget is None:
        return None
    return budget.daily_credits if period == "day" else budget.monthly_credits


@keys_app.command("budget")
def keys_budget_command(
    key_id: str = typer.Argument(..., help="The key's id (ak_...), from `vidgate keys list`."),
    daily: float | None = typer.Option(
        None, "--daily", min=0, help="Credits the key may spend per UTC day."
    ),
    monthly: float | None = typer.Option(
        None, "--monthly", min=0, help="Credits the key may spend per UTC month."
    ),
    clear: bool = typer.Option(False, "--clear", help="Remove the key's budget (no limit)."),
    as_json: bool = json_option(),
) -> None:
    """Set, change or remove a key's credit budget; with no option, show where the key stands."""

    async def apply(store: BudgetStore) -> None:
        current = await store.get_budget(key_id)
        if clear or daily is not None or monthly is not None:
            new_daily = None if clear else daily if daily is not None else _limit(current, "day")
            new_monthly = (
                None if clear else monthly if monthly is not None else _limit(current, "month")
            )
            await store.set_budget(key_id, daily=new_daily, monthly=new_monthly)
        standing = await store.standing(key_id)
        if as_json:
            print_json(None if standing is None else dataclasses.asdict(standing))
            return
        if standing is None:
            out.print(f"key {key_id} has no budget")
            return
        for period in (standing.day, standing.month):
            if period.limit is not None:
                out.print(period.describe(key_id))

    _with_budgets(apply)


@keys_app.command("revoke")
def keys_revoke_command(
    key_id: str = typer.Argument(..., help="The key's id (ak_...), from `vidgate keys list`."),
) -> None:
    """Revoke an API key: its next request is refused (401)."""
    key = _with_keys(lambda keys: keys.revoke_key(key_id))
    out.print(f"revoked API key {key.id} ({key.name})")
