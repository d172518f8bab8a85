"""The ``vidgate`` command line (Typer + Rich).

Every option shows its environment variable in ``--help``; docs/cli.md lists every command, and a
test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from vidgate.catalog import Endpoint, Priority, UseCase, get_catalog
from vidgate.cli.jobs import generate_command, jobs_app
from vidgate.errors import VidgateError

if TYPE_CHECKING:
    from vidgate.tenancy.budgets import BudgetStore
    from vidgate.tenancy.keys import KeyStore
    from vidgate.tenancy.tables import Budget
    from vidgate.webhooks.store import WebhookStore

__all__ = ["app"]

_T = TypeVar("_T")

app = typer.Typer(
    name="vidgate",
    help="Self-hosted AI video generation on Runway's API.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _fail(exc: VidgateError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=2)


@app.command("models")
def models_command(
    model: str | None = typer.Argument(None, help="A model id to show in detail."),
    legacy: bool = typer.Option(True, help="Include legacy models the SDK has dropped."),
) -> None:
    """List the video models (a table), or show one model's fields and limits."""
    catalog = get_catalog()
    if model is None:
        table = Table(title="Video models")
        for column in ("model", "endpoints", "credits/s", "speed", "best for"):
            table.add_column(column)
        for m in catalog.models(include_legacy=legacy):
            cps = m.credits_per_second
            cost = "unknown" if cps is None else "-".join(f"{c:g}" for c in m.cost_range or ())
            if isinstance(cps, int | float):
                cost = f"{cps:g}"
            name = f"{m.id} (legacy)" if m.legacy else m.id
            endpoints = ", ".join(e.value for e in m.endpoints)
            table.add_row(name, endpoints, cost, m.speed, m.best_for)
        console.print(table)
        return
    try:
        found = catalog.model(model)
    except VidgateError as exc:
        raise _fail(exc) from exc
    console.print(f"[bold]{found.id}[/bold] — {found.label} ({found.provider})")
    console.print(f"best for: {found.best_for}; speed: {found.speed}")
    console.print(f"cost: {catalog.estimate_cost(found.id, duration=1).describe()} per second")
    if found.legacy:
        console.print(f"[yellow]legacy:[/yellow] {found.legacy_note}")
    for endpoint, spec in found.endpoints.items():
        table = Table(title=f"{found.id} on /v1/{endpoint.value}")
        for column in ("field", "required", "type", "allowed"):
            table.add_column(column)
        for name, field in spec.fields.items():
            table.add_row(name, "yes" if field.required else "", field.type, field.describe())
        console.print(table)
        if spec.rules:
            console.print(f"rules: {', '.join(spec.rules)}", highlight=False)
        for old_name, wanted in spec.renamed.items():
            instead = f"send {wanted}" if wanted else "no such field"
            console.print(f"not accepted: {old_name} ({instead})", highlight=False)


@app.command("estimate")
def estimate_command(
    model: str = typer.Option(..., "--model", "-m", help="Model id, e.g. gen4.5."),
    duration: float | None = typer.Option(
        None, "--duration", "-d", help="Seconds of video; default: the longest the model allows."
    ),
    endpoint: Endpoint | None = typer.Option(None, "--endpoint", "-e", help="Generation endpoint."),
) -> None:
    """Print the credits a generation would cost."""
    try:
        estimate = get_catalog().estimate_cost(model, duration=duration, endpoint=endpoint)
    except VidgateError as exc:
        raise _fail(exc) from exc
    console.print(estimate.describe(), highlight=False)


@app.command("recommend")
def recommend_command(
    use_case: UseCase = typer.Option(UseCase.TEXT, "--use-case", "-u", help="What to make."),
    priority: Priority = typer.Option(Priority.BALANCED, "--priority", "-p", help="What matters."),
    image: bool = typer.Option(False, "--image", help="An input image is at hand."),
    duration: float | None = typer.Option(None, "--duration", "-d", help="Seconds wanted."),
    legacy: bool = typer.Option(False, help="Consider legacy models (veo3, gen4_aleph)."),
) -> None:
    """Recommend a model for a use case and priority, with the reason and the estimate."""
    rec = get_catalog().recommend(
        use_case, priority=priority, has_image=image, duration=duration, include_legacy=legacy
    )
    console.print(f"[bold]{rec.model}[/bold] on {rec.endpoint.value}: {rec.reason}")
    seconds = rec.estimate.duration_seconds
    length = f" for {seconds:g} s" if seconds is not None else " (length follows the input)"
    console.print(f"estimate: {rec.estimate.describe()}{length}")


@app.command("worker")
def worker_command(
    concurrency: int | None = typer.Option(
        None, min=1, help="Job steps run at once; default: VIDGATE_WORKER_CONCURRENCY (64)."
    ),
) -> None:
    """Run the job worker as its own process (submit, poll, download, store; webhooks)."""
    import asyncio
    import signal

    from vidgate.api.routes.webhooks import job_payload
    from vidgate.runtime import Background, open_runtime
    from vidgate.settings import load_settings

    async def run() -> None:
        background = Background(render=job_payload, concurrency=concurrency)
        async with open_runtime(load_settings(), background=background) as runtime:
            console.print(f"worker {runtime.worker_name} running", highlight=False)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()

    try:
        asyncio.run(run())
    except VidgateError as exc:
        raise _fail(exc) from exc


@app.command("migrate")
def migrate_command() -> None:
    """Apply the database schema (safe to run twice)."""
    import asyncio

    from vidgate.migrations import upgrade_database
    from vidgate.settings import load_settings

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(upgrade_database(settings.resolved_database_url))
    except VidgateError as exc:
        raise _fail(exc) from exc
    console.print("database is up to date", highlight=False)


def _knob(name: str) -> str:
    from vidgate.emulator.config import EmulatorConfig

    info = EmulatorConfig.model_fields[name]
    default = info.get_default(call_default_factory=True)
    shown = f" (default: {default:g})" if isinstance(default, float) else ""
    if isinstance(default, bool | int | str) and not isinstance(default, float):
        shown = f" (default: {str(default).lower() if isinstance(default, bool) else default})"
    return (info.description or name) + shown


def _pairs(option: str, items: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        pairs[key.strip()] = value.strip()
    return pairs


def _limits(option: str, items: list[str]) -> dict[str, int | None]:
    limits: dict[str, int | None] = {}
    for model, value in _pairs(option, items).items():
        if value.lower() in ("none", "null", "unlimited"):
            limits[model] = None
        elif value.isdigit():
            limits[model] = int(value)
        else:
            raise typer.BadParameter(f"{model}: expected a number or 'none'", param_hint=option)
    return limits


_E = "VIDGATE_EMULATOR_"


@app.command("emulator")
def emulator_command(
    host: str = typer.Option("127.0.0.1", envvar=_E + "HOST", help="Address to bind."),
    port: int = typer.Option(8787, envvar=_E + "PORT", help="Port to listen on (0: any)."),
    task_seconds: float | None = typer.Option(
        None, envvar=_E + "TASK_SECONDS", help=_knob("task_seconds")
    ),
    pending_seconds: float | None = typer.Option(
        None, envvar=_E + "PENDING_SECONDS", help=_knob("pending_seconds")
    ),
    throttle_seconds: float | None = typer.Option(
        None, envvar=_E + "THROTTLE_SECONDS", help=_knob("throttle_seconds")
    ),
    fail_rate: float | None = typer.Option(None, envvar=_E + "FAIL_RATE", help=_knob("fail_rate")),
    failure_code: str | None = typer.Option(
        None, envvar=_E + "FAILURE_CODE", help=_knob("failure_code")
    ),
    http429_rate: float | None = typer.Option(
        None, envvar=_E + "HTTP429_RATE", help=_knob("http429_rate")
    ),
    http5xx_rate: float | None = typer.Option(
        None, envvar=_E + "HTTP5XX_RATE", help=_knob("http5xx_rate")
    ),
    drop_connection_rate: float | None = typer.Option(
        None, envvar=_E + "DROP_CONNECTION_RATE", help=_knob("drop_connection_rate")
    ),
    download_bytes_per_second: float | None = typer.Option(
        None, envvar=_E + "DOWNLOAD_BYTES_PER_SECOND", help=_knob("download_bytes_per_second")
    ),
    truncate_downloads: bool | None = typer.Option(
        None,
        "--truncate-downloads/--no-truncate-downloads",
        envvar=_E + "TRUNCATE_DOWNLOADS",
        help=_knob("truncate_downloads"),
    ),
    output_ttl_seconds: float | None = typer.Option(
        None, envvar=_E + "OUTPUT_TTL_SECONDS", help=_knob("output_ttl_seconds")
    ),
    concurrency: list[str] = typer.Option(
        [],
        envvar=_E + "CONCURRENCY",
        help="MODEL=N (or MODEL=none), repeatable: " + _knob("concurrency"),
    ),
    daily_limit: list[str] = typer.Option(
        [],
        envvar=_E + "DAILY_LIMIT",
        help="MODEL=N (or MODEL=none), repeatable: " + _knob("daily_limit"),
    ),
    default_concurrency: int | None = typer.Option(
        None, envvar=_E + "DEFAULT_CONCURRENCY", help=_knob("default_concurrency")
    ),
    default_daily_limit: int | None = typer.Option(
        None, envvar=_E + "DEFAULT_DAILY_LIMIT", help=_knob("default_daily_limit")
    ),
    credit_balance: int | None = typer.Option(
        None, envvar=_E + "CREDIT_BALANCE", help=_knob("credit_balance")
    ),
    max_monthly_credit_spend: int | None = typer.Option(
        None, envvar=_E + "MAX_MONTHLY_CREDIT_SPEND", help=_knob("max_monthly_credit_spend")
    ),
    synthetic_credits_per_second: float | None = typer.Option(
        None,
        envvar=_E + "SYNTHETIC_CREDITS_PER_SECOND",
        help=_knob("synthetic_credits_per_second"),
    ),
    fetch_timeout_seconds: float | None = typer.Option(
        None, envvar=_E + "FETCH_TIMEOUT_SECONDS", help=_knob("fetch_timeout_seconds")
    ),
    upload_ttl_seconds: float | None = typer.Option(
        None, envvar=_E + "UPLOAD_TTL_SECONDS", help=_knob("upload_ttl_seconds")
    ),
    host_map: list[str] = typer.Option(
        [], envvar=_E + "HOST_MAP", help="HOST=BASE_URL, repeatable. " + _knob("host_map")
    ),
    seed: int | None = typer.Option(None, envvar=_E + "SEED", help=_knob("seed")),
    fps: int | None = typer.Option(None, envvar=_E + "FPS", help=_knob("fps")),
    api_key: str | None = typer.Option(None, envvar=_E + "API_KEY", help=_knob("api_key")),
    legacy: bool | None = typer.Option(
        None, "--legacy/--no-legacy", envvar=_E + "LEGACY", help=_knob("allow_legacy")
    ),
    output_dir: Path | None = typer.Option(
        None, envvar=_E + "OUTPUT_DIR", help=_knob("output_dir")
    ),
    render_workers: int | None = typer.Option(
        None, envvar=_E + "RENDER_WORKERS", help=_knob("render_workers")
    ),
    state_file: Path | None = typer.Option(
        None, envvar=_E + "STATE_FILE", help=_knob("state_file")
    ),
) -> None:
    """Run the Runway API emulator: point an official SDK's base URL at it."""
    from vidgate.emulator.config import EmulatorConfig
    from vidgate.emulator.server import EmulatorServer
    from vidgate.settings import load_settings

    knobs: dict[str, object] = {
        "task_seconds": task_seconds,
        "pending_seconds": pending_seconds,
        "throttle_seconds": throttle_seconds,
        "fail_rate": fail_rate,
        "failure_code": failure_code,
        "http429_rate": http429_rate,
        "http5xx_rate": http5xx_rate,
        "drop_connection_rate": drop_connection_rate,
        "download_bytes_per_second": download_bytes_per_second,
        "truncate_downloads": truncate_downloads,
        "output_ttl_seconds": output_ttl_seconds,
        "default_concurrency": default_concurrency,
        "default_daily_limit": default_daily_limit,
        "credit_balance": credit_balance,
        "max_monthly_credit_spend": max_monthly_credit_spend,
        "synthetic_credits_per_second": synthetic_credits_per_second,
        "fetch_timeout_seconds": fetch_timeout_seconds,
        "upload_ttl_seconds": upload_ttl_seconds,
        "seed": seed,
        "fps": fps,
        "api_key": api_key,
        "allow_legacy": legacy,
        "output_dir": output_dir,
        "render_workers": render_workers,
        "state_file": state_file,
    }
    knobs = {k: v for k, v in knobs.items() if v is not None}
    if concurrency:
        knobs["concurrency"] = _limits("--concurrency", concurrency)
    if daily_limit:
        knobs["daily_limit"] = _limits("--daily-limit", daily_limit)
    if host_map:
        knobs["host_map"] = _pairs("--host-map", host_map)
    try:
        knobs.setdefault("task_seconds", load_settings().emulator_task_seconds)
        config = EmulatorConfig.from_knobs(knobs)
        server = EmulatorServer(config, host=host, port=port, log_level="warning").start()
    except VidgateError as exc:
        raise _fail(exc) from exc
    console.print(
        f"Runway API emulator on [bold]{server.base_url}[/bold] "
        f"(RUNWAYML_BASE_URL={server.base_url}; control: {server.base_url}/_emulator/config)",
        highlight=False,
    )
    console.file.flush()
    server.wait()


def _echo(line: str) -> None:
    console.print(line, highlight=False)


@app.command("serve")
def serve_command(
    host: str | None = typer.Option(
        None,
        envvar="VIDGATE_HOST",
        help="Address to listen on (default 127.0.0.1). Any non-loopback address needs an API key.",
    ),
    port: int | None = typer.Option(
        None, envvar="VIDGATE_PORT", help="Port to listen on (default 8000; 0: any free port)."
    ),
    worker: bool = typer.Option(
        True, "--worker/--no-worker", help="Run the job worker in this process."
    ),
) -> None:
    """Run the HTTP API (and the job worker) with uvicorn."""
    from vidgate.api.serve import serve

    try:
        serve(
            host=host,
            port=port,
            worker=worker,
            echo=lambda line: console.print(line, highlight=False),
        )
    except VidgateError as exc:
        raise _fail(exc) from exc


keys_app = typer.Typer(help="API keys: create, list, revoke, budget.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

# generate and jobs: make, follow and manage jobs through the HTTP API (vidgate/cli/jobs.py).
app.command("generate")(generate_command)
app.add_typer(jobs_app, name="jobs")


def _with_keys(action: Callable[[KeyStore], Awaitable[_T]]) -> _T:
    import asyncio

    from vidgate.runtime import open_key_store
    from vidgate.settings import load_settings

    async def run() -> _T:
        async with open_key_store(load_settings()) as keys:
            return await action(keys)

    try:
        return asyncio.run(run())
    except VidgateError as exc:
        raise _fail(exc) from exc


@keys_app.command("create")
def keys_create_command(
    name: str = typer.Option(..., "--name", "-n", help="Who or what the key is for."),
    webhook_url: str | None = typer.Option(
        None,
        "--webhook-url",
        help="Default https URL for the key's webhooks; also makes and prints a signing secret.",
    ),
) -> None:
    """Make an API key and print its token, once: it is stored only as a hash."""
    if webhook_url is not None:
        _check_webhook_url(webhook_url)
    created = _with_keys(lambda keys: keys.create_key(name))
    console.print(f"created API key {created.key.id} ({created.key.name})", highlight=False)
    console.print(f"token: {created.token}", highlight=False, soft_wrap=True)
    if webhook_url is not None:
        secret = _with_webhooks(lambda hooks: hooks.set_default_url(created.key.id, webhook_url))[1]
        console.print(f"webhooks go to {webhook_url}", highlight=False)
        console.print(f"webhook signing secret: {secret}", highlight=False, soft_wrap=True)
    console.print("store the token now: it cannot be shown again", highlight=False)


def _with_webhooks(action: Callable[[WebhookStore], Awaitable[_T]]) -> _T:
    import asyncio

    from vidgate.db.engine import create_engine
    from vidgate.migrations import upgrade_database
    from vidgate.settings import load_settings
    from vidgate.webhooks.store import WebhookStore

    async def run() -> _T:
        settings = load_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_database(settings.resolved_database_url)
        engine = create_engine(settings.resolved_database_url)
        try:
            return await action(WebhookStore(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except VidgateError as exc:
        raise _fail(exc) from exc


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
        raise _fail(ValidationFailed.single("--webhook-url", "; ".join(found)))


@keys_app.command("list")
def keys_list_command() -> None:
    """List the API keys (never their tokens) and their budgets."""
    found = _with_keys(lambda keys: keys.list_keys())
    budgets = _with_budgets(lambda store: store.list_budgets())
    table = Table(title="API keys")
    for column in ("id", "name", "token starts", "created", "state", "budget"):
        table.add_column(column)
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        table.add_row(
            key.id,
            key.name,
            key.prefix + "...",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            state,
            _budget_text(budgets.get(key.id)),
        )
    console.print(table)


def _with_budgets(action: Callable[[BudgetStore], Awaitable[_T]]) -> _T:
    import asyncio

    from vidgate.runtime import open_budget_store
    from vidgate.settings import load_settings

    async def run() -> _T:
        async with open_budget_store(load_settings()) as store:
            return await action(store)

    try:
        return asyncio.run(run())
    except VidgateError as exc:
        raise _fail(exc) from exc


def _budget_text(budget: Budget | None) -> str:
    if budget is None:
        return "-"
    parts = [
        f"{limit:g}/{period}"
        for limit, period in ((budget.daily_credits, "day"), (budget.monthly_credits, "month"))
        if limit is not None
    ]
    return ", ".join(parts) + " credits"


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
        if standing is None:
            console.print(f"key {key_id} has no budget", highlight=False)
            return
        for period in (standing.day, standing.month):
            if period.limit is not None:
                console.print(period.describe(key_id), highlight=False)

    _with_budgets(apply)


def _limit(budget: Budget | None, period: str) -> float | None:
    if budget is None:
        return None
    return budget.daily_credits if period == "day" else budget.monthly_credits


@keys_app.command("revoke")
def keys_revoke_command(
    key_id: str = typer.Argument(..., help="The key's id (ak_...), from `vidgate keys list`."),
) -> None:
    """Revoke an API key: its next request is refused (401)."""
    key = _with_keys(lambda keys: keys.revoke_key(key_id))
    console.print(f"revoked API key {key.id} ({key.name})", highlight=False)


def main() -> None:  # pragma: no cover - console script entry
    app()
