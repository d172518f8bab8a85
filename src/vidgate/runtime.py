"""Assembles a running vidgate from its settings: database, storage, provider, pipeline, worker.

The embedded default is one process: SQLite and files under ``VIDGATE_DATA_DIR``, and, when
``RUNWAYML_API_SECRET`` is unset, vidgate's own emulator started in-process on loopback so that
everything works offline ("emulator mode").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.catalog import Catalog, get_catalog
from vidgate.db.dialect import is_sqlite
from vidgate.db.engine import create_engine, pool_limits
from vidgate.jobs.step_queue import QueueTimings, StepQueue
from vidgate.jobs.store import JobStore
from vidgate.media.provenance import SigningIdentity
from vidgate.migrations import open_migrated_engine, upgrade_database
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.polling import PollCadence
from vidgate.pipeline.steps import Pipeline
from vidgate.pipeline.worker import Worker, default_worker_id
from vidgate.provider.base import Provider
from vidgate.provider.health import CircuitPolicy, MonitoredProvider, ProviderHealth
from vidgate.provider.limits import ProviderLimits
from vidgate.provider.runway import RunwayProvider
from vidgate.settings import Settings
from vidgate.storage import Storage, remove_orphans
from vidgate.tenancy.budgets import BudgetStore
from vidgate.tenancy.keys import KeyStore
from vidgate.tenancy.reconcile import UsageReconciler
from vidgate.webhooks.dispatcher import WebhookDispatcher
from vidgate.webhooks.store import JobRenderer, WebhookStore

__all__ = [
    "EMULATOR_API_KEY",
    "Runtime",
    "open_budget_store",
    "open_key_store",
    "open_runtime",
]

log = logging.getLogger("vidgate")

# The embedded emulator accepts any bearer token; this one makes logs and stats recognisable.
EMULATOR_API_KEY = "key_" + "0" * 128


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
    emulator_mode: bool
    emulator_url: str | None = None
    #: The embedded emulator's control token (``X-Emulator-Token``), for tests that turn knobs.
    emulator_token: str | None = None
    worker_name: str = field(default_factory=default_worker_id)
    worker: Worker | None = None
    # PostgreSQL: steps travel between processes as procrastinate tasks (vidgate.jobs.step_queue).
    step_queue: StepQueue | None = None
    webhooks: WebhookDispatcher | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _webhook_task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _usage: UsageReconciler | None = None

    @property
    def usage(self) -> UsageReconciler:
        """Spend reconciled with the provider's usage report (``GET /v1/usage``, the metrics)."""
        if self._usage is None:
            self._usage = UsageReconciler(
                self.engine, self.provider, every_seconds=self.settings.usage_reconcile_seconds
            )
        return self._usage

    async def start_worker(self, *, concurrency: int | None = None) -> str:
        """Run job steps in this process (``vidgate serve`` does by default); the worker's name.

        ``concurrency`` defaults to ``VIDGATE_WORKER_CONCURRENCY``.
        """
        concurrency = concurrency or self.settings.worker_concurrency
        if self._tasks:
            return self.worker_name
        # Learn each model's run time from the jobs already done, oldest first.
        # (Submission to stored: an upper bound on the run time, so it can only lower a prior.)
        for model, seconds in reversed(await self.store.recent_run_seconds()):
            self.pipeline.context.cadence.observe_at_most(model, seconds)
        # Temporary objects older than any live write are leftovers of a crash.
        await self.storage.cleanup_temporary(timedelta(hours=1))
        # The first job should not wait for the provider's first answer (connection, tier).
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self.pipeline.context.limits.organization()
        if self.step_queue is not None:
            self.step_queue.pipeline = self.pipeline
            runner = self.step_queue.run_worker(concurrency=concurrency, name=self.worker_name)
            self._tasks.append(asyncio.create_task(runner))
        else:
            self.worker = Worker(
                self.pipeline,
                worker_id=self.worker_name,
                concurrency=concurrency,
                lease_seconds=self.settings.lease_seconds,
            )
            self._tasks.append(asyncio.create_task(self.worker.run(self._stop)))
        return self.worker_name

    async def start_webhooks(
        self, render: JobRenderer, *, client: httpx.AsyncClient | None = None
    ) -> WebhookDispatcher:
        """Run the webhook dispatcher in this process, beside the worker (docs/webhooks.md).

        ``render`` is the API's job serializer (the payload's ``data``); ``client`` replaces the
        guarded production client (tests only).
        """
        if self.webhooks is None:
            store = WebhookStore(self.engine)
            self.webhooks = WebhookDispatcher.from_settings(
                store, self.settings, render=render, client=client
            )
            self._webhook_task = asyncio.create_task(self.webhooks.run(self._stop))
        return self.webhooks

    async def job_submitted(self, job_id: str) -> None:
        """A job was stored or asked to cancel: have its next step run now."""
        if self.step_queue is not None:
            await self.step_queue.schedule(job_id)
        elif self.worker is not None:
            self.worker.wake()

    async def stop(self) -> None:
        self._stop.set()
        if self.webhooks is not None and self._webhook_task is not None:
            self.webhooks.wake()
            # Sends in flight end within their timeout; an unrecorded one is sent again later.
            await self._webhook_task
        for task in self._tasks:
            if self.step_queue is not None:
                task.cancel()  # procrastinate's worker finishes the steps it has started
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Runtime]:
    """Open the database, storage and provider named by ``settings``; close them on exit."""
    catalog = get_catalog()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.resolved_database_url
    if migrate:
        await upgrade_database(database_url)
    store_connections = settings.database_connections * 2 // 3
    engine = create_engine(database_url, **pool_limits(database_url, store_connections))
    emulator = None
    api_key = settings.runway_api_secret.get_secret_value() if settings.runway_api_secret else None
    base_url = settings.runway_base_url
    if api_key is None:
        from vidgate.emulator.shared import SharedEmulator  # only emulator mode needs it

        # One emulator per data directory, whichever vidgate process runs it (docs/emulator.md).
        emulator = SharedEmulator.from_settings(settings).start()
        base_url, api_key = emulator.base_url, EMULATOR_API_KEY
        log.warning("emulator mode: no RUNWAYML_API_SECRET, videos are synthetic (%s)", base_url)
    storage = Storage.from_url(settings.resolved_storage_url)
    removed = await remove_orphans(storage, settings.data_dir / "tmp")
    if removed:
        log.info("removed %d temporary file(s) left by a killed process", removed)
    store = JobStore(engine)
    health = ProviderHealth(
        engine, provider=RunwayProvider.name, policy=CircuitPolicy.from_settings(settings)
    )
    runway = RunwayProvider(api_key=api_key, base_url=base_url)
    if emulator is not None:
        # Another process took the emulator over on a new port: follow it.
        emulator.on_moved = lambda url: setattr(runway.client, "base_url", url)
    provider = MonitoredProvider(runway, health)
    # Emulator mode knows how long its tasks take; Runway's are learned (pipeline/polling.py).
    start, total = emulator.task_timings() if emulator else (0.0, None)
    cadence = PollCadence(
        min_seconds=settings.poll_min_seconds,
        max_seconds=settings.poll_max_seconds,
        prior_seconds=total,
        start_seconds=start,
    )
    context = StepContext(
        store=store,
        provider=provider,
        storage=storage,
        catalog=catalog,
        cadence=cadence,
        limits=ProviderLimits(
            provider,
            refresh_seconds=settings.provider_limits_refresh_seconds,
            retry_seconds=settings.provider_limit_retry_seconds,
        ),
        internal_retry_limit=settings.internal_retry_limit,
        submit_concurrency=settings.submit_concurrency,
        signing=_signing_identity(settings),
    )
    pipeline = Pipeline(context)
    step_queue = None
    if not is_sqlite(engine):
        timings = QueueTimings.from_lease(settings.lease_seconds)
        step_queue = StepQueue(
            database_url,
            store,
            pipeline,
            timings=timings,
            connections=settings.database_connections - store_connections,
        )
        await step_queue.__aenter__()
    runtime = Runtime(
        settings=settings,
        engine=engine,
        store=store,
        storage=storage,
        provider=provider,
        catalog=catalog,
        pipeline=pipeline,
        provider_health=health,
        emulator_mode=emulator is not None,
        emulator_url=emulator.base_url if emulator else None,
        emulator_token=emulator.control_token if emulator else None,
        step_queue=step_queue,
    )
    # A chain's next segment (or a segment to cancel) runs at once, on either kind of queue.
    context.job_due = runtime.job_submitted
    try:
        yield runtime
    finally:
        await runtime.stop()
        if step_queue is not None:
            await step_queue.__aexit__(None, None, None)
        await provider.aclose()
        await engine.dispose()
        if emulator is not None:
            emulator.stop()


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


def _signing_identity(settings: Settings) -> SigningIdentity | None:
    """The operator's C2PA certificate and key, which sign joined chains (None: unsigned)."""
    if settings.c2pa_certificate is None or settings.c2pa_private_key is None:
        return None
    return SigningIdentity.from_files(settings.c2pa_certificate, settings.c2pa_private_key)
