"""Assembles a running vidgate from its settings: database, storage, provider, pipeline, worker.

The embedded default is one process: SQLite and files under ``VIDGATE_DATA_DIR``, and, when
``RUNWAYML_API_SECRET`` is unset, vidgate's own emulator started in-process on loopback so that
everything works offline ("emulator mode").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.catalog import Catalog, get_catalog
from vidgate.db.dialect import is_sqlite
from vidgate.db.engine import create_engine, pool_limits
from vidgate.errors import ProviderCredentialsRefused, VidgateError
from vidgate.jobs.step_queue import QueueTimings, StepQueue
from vidgate.jobs.store import JobStore
from vidgate.jobs.wake import Wakeup
from vidgate.media.c2pa_trust import load_trust
from vidgate.media.provenance import SigningIdentity
from vidgate.migrations import open_migrated_engine, upgrade_database
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.polling import PollCadence
from vidgate.pipeline.runner import Pipeline
from vidgate.pipeline.worker import Worker, default_worker_id
from vidgate.provider.base import Provider
from vidgate.provider.circuit import CircuitPolicy
from vidgate.provider.health import ProviderHealth
from vidgate.provider.limits import ProviderLimits
from vidgate.provider.monitored import MonitoredProvider
from vidgate.provider.runway import RunwayProvider
from vidgate.settings import Settings
from vidgate.storage import Storage, remove_orphans
from vidgate.storage.private import make_private, private_directory
from vidgate.tenancy.budgets import BudgetStore
from vidgate.tenancy.keys import KeyStore
from vidgate.tenancy.reconcile import UsageReconciler
from vidgate.tenancy.uploads import UploadStore
from vidgate.webhooks.dispatcher import WebhookDispatcher
from vidgate.webhooks.sealing import SecretSealer, seal_stored_secrets
from vidgate.webhooks.store import JobRenderer, WebhookStore

__all__ = [
    "EMULATOR_API_KEY",
    "Background",
    "Runtime",
    "open_budget_store",
    "open_key_store",
    "open_runtime",
    "open_storage",
]

log = logging.getLogger("vidgate")

# The embedded emulator accepts any bearer token; this one makes logs and stats recognisable.
EMULATOR_API_KEY = "key_" + "0" * 128
_OPEN_ENTRIES_SHOWN = 10  # of the files found open to others at start-up, named one by one


@dataclass(frozen=True)
class Background:
    """What a process runs beside its API (``vidgate serve``) or alone (``vidgate worker``)."""

    #: The webhook payload's ``data``: the API's job serializer.
    render: JobRenderer
    #: Job steps run at once; ``VIDGATE_WORKER_CONCURRENCY`` by default.
    concurrency: int | None = None
    #: Replaces the guarded client webhooks are sent with (tests only).
    webhook_client: httpx.AsyncClient | None = None


@dataclass
class Runtime:
    """Everything a vidgate process uses, opened together and closed together."""

    settings: Settings
    engine: AsyncEngine
    store: JobStore
    storage: Storage
    #: The provider, every call's outcome recorded on ``provider_health``.
    provider: Provider
    catalog: Catalog
    pipeline: Pipeline
    #: Whether the provider is known to be down; the API refuses new work while it is.
    provider_health: ProviderHealth
    keys: KeyStore
    uploads: UploadStore
    webhook_store: WebhookStore
    #: A job was stored or asked to cancel: have its next step run now (on either kind of queue).
    job_submitted: Callable[[str], Awaitable[None]]
    emulator_mode: bool
    emulator_url: str | None = None
    #: The embedded emulator's control token (``X-Emulator-Token``), for tests that turn knobs.
    emulator_token: str | None = None
    worker_name: str = field(default_factory=default_worker_id)
    #: SQLite: this process's claim loop, when it runs steps.
    worker: Worker | None = None
    # PostgreSQL: steps travel between processes as procrastinate tasks (vidgate.jobs.step_queue).
    step_queue: StepQueue | None = None
    webhooks: WebhookDispatcher | None = None
    _usage: UsageReconciler | None = None

    @property
    def usage(self) -> UsageReconciler:
        """Spend reconciled with the provider's usage report (``GET /v1/usage``, the metrics)."""
        if self._usage is None:
            self._usage = UsageReconciler(
                self.engine, self.provider, every_seconds=self.settings.usage_reconcile_seconds
            )
        return self._usage


def _job_signal(step_queue: StepQueue | None, wakeup: Wakeup) -> Callable[[str], Awaitable[None]]:
    async def job_submitted(job_id: str) -> None:
        if step_queue is not None:
            await step_queue.schedule(job_id)
        else:
            wakeup.set()  # this process's worker, if it runs one, looks again now

    return job_submitted


async def _run_background(
    stack: contextlib.AsyncExitStack, runtime: Runtime, background: Background, wakeup: Wakeup
) -> None:
    """Start the job steps, the webhook dispatcher and the usage reconciliation; the stack stops
    them first on exit."""
    settings = runtime.settings
    # Learn each model's run time from the jobs already done, oldest first: a model learned by
    # the last run is polled as a learned one from the first task on (pipeline/polling.py).
    # (From the create's answer to stored: an upper bound on the task's run time that leaves
    # out the time the job queued here, so it can only lower a prior.)
    context = runtime.pipeline.context
    for model, seconds in reversed(await runtime.store.recent_run_seconds()):
        context.cadence.observe_at_most(model, seconds, context.speed(model))
    # Temporary objects older than any live write are leftovers of a crash.
    await runtime.storage.cleanup_temporary(timedelta(hours=1))
    # The first job should not wait for the provider's first answer (connection, tier).
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2):
            await runtime.pipeline.context.limits.organization()
    stop = asyncio.Event()
    concurrency = background.concurrency or settings.worker_concurrency
    if runtime.step_queue is not None:
        steps = asyncio.create_task(
            runtime.step_queue.run_worker(
                concurrency=concurrency, name=runtime.worker_name, runner=runtime.pipeline
            )
        )
    else:
        runtime.worker = Worker(
            runtime.pipeline,
            worker_id=runtime.worker_name,
            concurrency=concurrency,
            lease_seconds=settings.lease_seconds,
            wakeup=wakeup,
        )
        steps = asyncio.create_task(runtime.worker.run(stop))
    dispatcher = WebhookDispatcher.from_settings(
        runtime.webhook_store, settings, render=background.render, client=background.webhook_client
    )
    runtime.webhooks = dispatcher
    sending = asyncio.create_task(dispatcher.run(stop))
    reconciling = asyncio.create_task(runtime.usage.run(stop))

    async def stop_background() -> None:
        stop.set()
        # Sends in flight end within their timeout; an unrecorded one is sent again later.
        await sending
        reconciling.cancel()  # a round under way is only a read and a few settled rows
        with contextlib.suppress(asyncio.CancelledError):
            await reconciling
        if runtime.step_queue is not None:
            steps.cancel()  # procrastinate's worker finishes the steps it has started
        with contextlib.suppress(asyncio.CancelledError):
            await steps

    stack.push_async_callback(stop_background)


def _keep_private(root: Path) -> None:
    """Take other users' access to what is under ``root`` away where this user may, and say what
    was found open (storage/private.py)."""
    found = make_private(root)
    for entry in found[:_OPEN_ENTRIES_SHOWN]:
        if entry.changed:
            log.warning(
                "%s was open to other users (mode %04o): made it %04o",
                entry.path,
                entry.was,
                entry.now,
            )
        else:
            log.warning(
                "%s is open to other users (mode %04o) and is not this user's to change: "
                "make it private (chmod go-rwx)",
                entry.path,
                entry.was,
            )
    if len(found) > _OPEN_ENTRIES_SHOWN:
        log.warning(
            "%d more entries under %s were open to other users (made private where this "
            "user owns them)",
            len(found) - _OPEN_ENTRIES_SHOWN,
            root,
        )


async def _seal_secrets(engine: AsyncEngine, sealer: SecretSealer) -> None:
    """Seal the webhook secrets still stored in plaintext (webhooks/sealing.py), and say so."""
    done = await seal_stored_secrets(engine, sealer)
    if done.sealed:
        log.info(
            "sealed %d webhook signing secret(s) with the secrets key "
            "(VIDGATE_SECRETS_KEY, else DATA_DIR/secrets-key)",
            done.sealed,
        )
    if done.unopened:
        log.error(
            "%d webhook signing secret(s) in the database were sealed with another secrets key "
            "than this process's; their webhooks fail until every process on the database is "
            "given the key that sealed them (VIDGATE_SECRETS_KEY), or new secrets are made "
            "(POST /v1/webhook/secret)",
            done.unopened,
        )


async def _check_key(provider: Provider) -> None:
    """Ask the provider once whether it takes our key; a refusal is said in one plain line (and
    opens the provider's circuit: ``/readyz`` shows it). Anything else is left to the jobs."""
    try:
        await provider.organization()
    except ProviderCredentialsRefused as exc:
        log.error("%s; every generation fails with PROVIDER_CREDENTIALS until then", exc)
    except VidgateError as exc:
        log.warning("could not check the provider's API key at start-up: %s", exc)


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, migrate: bool = True, background: Background | None = None
) -> AsyncIterator[Runtime]:
    """Open the database, storage and provider named by ``settings`` (and, with ``background``,
    run job steps and webhooks); everything opened is closed on exit, in reverse order."""
    catalog = get_catalog()
    await asyncio.to_thread(_keep_private, private_directory(settings.data_dir))
    database_url = settings.resolved_database_url
    if migrate:
        await upgrade_database(database_url)
    async with contextlib.AsyncExitStack() as stack:
        store_connections = settings.database_connections * 2 // 3
        engine = create_engine(database_url, **pool_limits(database_url, store_connections))
        stack.push_async_callback(engine.dispose)
        sealer = SecretSealer.from_settings(settings)
        await _seal_secrets(engine, sealer)
        emulator = None
        api_key = (
            settings.runway_api_secret.get_secret_value() if settings.runway_api_secret else None
        )
        base_url = settings.runway_base_url
        if api_key is None:
            from vidgate.emulator.shared import SharedEmulator  # only emulator mode needs it

            # One emulator per data directory, whichever vidgate process runs it (docs/emulator.md).
            emulator = SharedEmulator.from_settings(settings).start()
            stack.callback(emulator.stop)
            base_url, api_key = emulator.base_url, EMULATOR_API_KEY
            log.warning(
                "emulator mode: no RUNWAYML_API_SECRET, videos are synthetic (%s)", base_url
            )
        storage = open_storage(settings)
        root = storage.root
        if root is not None and not root.is_relative_to(settings.data_dir.resolve()):
            await asyncio.to_thread(_keep_private, root)  # outputs are served only by vidgate
        removed = await remove_orphans(storage, _scratch_dir(settings))
        if removed:
            log.info("removed %d temporary file(s) left by a killed process", removed)
        store = JobStore(engine)
        health = ProviderHealth(
            engine, provider=RunwayProvider.name, policy=CircuitPolicy.from_settings(settings)
        )
        runway = RunwayProvider(api_key=api_key, base_url=base_url)
        if emulator is not None:
            # Another process took the emulator over on a new port: follow it.
            emulator.on_moved = runway.follow
        provider = MonitoredProvider(runway, health)
        stack.push_async_callback(provider.aclose)
        if emulator is None:
            await _check_key(provider)
        step_queue = None
        if not is_sqlite(engine):
            step_queue = await stack.enter_async_context(
                StepQueue(
                    database_url,
                    store,
                    timings=QueueTimings.from_lease(settings.lease_seconds),
                    connections=settings.database_connections - store_connections,
                )
            )
        wakeup = Wakeup()
        # Emulator mode knows how long its tasks take; Runway's are learned (pipeline/polling.py).
        start, total = emulator.task_timings() if emulator else (0.0, None)
        job_submitted = _job_signal(step_queue, wakeup)
        context = StepContext(
            store=store,
            provider=provider,
            storage=storage,
            catalog=catalog,
            cadence=PollCadence(
                min_seconds=settings.poll_min_seconds,
                max_seconds=settings.poll_max_seconds,
                prior_seconds=total,
                start_seconds=start,
            ),
            limits=ProviderLimits(
                provider,
                refresh_seconds=settings.provider_limits_refresh_seconds,
                retry_seconds=settings.provider_limit_retry_seconds,
            ),
            internal_retry_limit=settings.internal_retry_limit,
            submit_concurrency=settings.submit_concurrency,
            output_max_bytes=settings.output_max_bytes,
            # A chain's next segment (or a segment to cancel) runs at once.
            job_due=job_submitted,
            signing=_signing_identity(settings),
            # Loaded once the emulator has written its test root (one may name it).
            trust=load_trust(settings.c2pa_trust_anchors, settings.c2pa_allowed_signers),
        )
        runtime = Runtime(
            settings=settings,
            engine=engine,
            store=store,
            storage=storage,
            provider=provider,
            catalog=catalog,
            pipeline=Pipeline(context),
            provider_health=health,
            keys=KeyStore(engine),
            uploads=UploadStore(engine),
            webhook_store=WebhookStore(engine, sealer),
            job_submitted=job_submitted,
            emulator_mode=emulator is not None,
            emulator_url=emulator.base_url if emulator else None,
            emulator_token=emulator.control_token if emulator else None,
            step_queue=step_queue,
        )
        if background is not None:
            await _run_background(stack, runtime, background, wakeup)
        yield runtime


@contextlib.asynccontextmanager
async def open_key_store(settings: Settings) -> AsyncIterator[KeyStore]:
    """The key store of the database ``settings`` name, migrated first (for the CLI)."""
    async with open_migrated_engine(settings) as engine:
        yield KeyStore(engine)


@contextlib.asynccontextmanager
async def open_budget_store(settings: Settings) -> AsyncIterator[BudgetStore]:
    """The budget store of the database ``settings`` name, migrated first (for the CLI)."""
    async with open_migrated_engine(settings) as engine:
        yield BudgetStore(engine)


def open_storage(settings: Settings) -> Storage:
    """The media store ``settings`` name; files on their way in are staged in DATA_DIR/tmp, which
    :func:`open_runtime` sweeps of a killed process's leftovers."""
    return Storage.from_url(settings.resolved_storage_url, scratch_dir=_scratch_dir(settings))


def _scratch_dir(settings: Settings) -> Path:
    return settings.data_dir / "tmp"


def _signing_identity(settings: Settings) -> SigningIdentity | None:
    """The operator's C2PA certificate and key, which sign joined chains (None: unsigned)."""
    if settings.c2pa_certificate is None or settings.c2pa_private_key is None:
        return None
    return SigningIdentity.from_files(settings.c2pa_certificate, settings.c2pa_private_key)
