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

from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.catalog import Catalog, get_catalog
from vidgate.jobs.database import create_engine, upgrade_database
from vidgate.jobs.store import JobStore
from vidgate.polling import PollCadence
from vidgate.provider.runway import RunwayProvider
from vidgate.settings import Settings
from vidgate.storage import Storage
from vidgate.worker import Pipeline, Worker

__all__ = ["EMULATOR_API_KEY", "Runtime", "open_runtime"]

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
    provider: RunwayProvider
    catalog: Catalog
    pipeline: Pipeline
    emulator_mode: bool
    emulator_url: str | None = None
    worker: Worker | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def start_worker(self, *, concurrency: int = 64) -> Worker:
        """Run the worker loop in this process (``vidgate serve`` does by default)."""
        if self.worker is None:
            # Learn each model's run time from the jobs already done, oldest first.
            for model, seconds in reversed(await self.store.recent_run_seconds()):
                self.pipeline.cadence.observe(model, seconds)
            # Temporary objects older than any live write are leftovers of a crash.
            await self.storage.cleanup_temporary(timedelta(hours=1))
            self.worker = Worker(
                self.pipeline,
                concurrency=concurrency,
                lease_seconds=self.settings.lease_seconds,
            )
            self._tasks.append(asyncio.create_task(self.worker.run(self._stop)))
        return self.worker

    def job_submitted(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
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
    engine = create_engine(database_url)
    emulator = None
    api_key = settings.runway_api_secret.get_secret_value() if settings.runway_api_secret else None
    base_url = settings.runway_base_url
    if api_key is None:
        from vidgate.emulator.server import EmulatorServer  # only emulator mode needs it

        emulator = EmulatorServer.from_settings(settings)
        emulator.start()
        base_url, api_key = emulator.base_url, EMULATOR_API_KEY
        log.warning("emulator mode: no RUNWAYML_API_SECRET, videos are synthetic (%s)", base_url)
    provider = RunwayProvider(api_key=api_key, base_url=base_url)
    storage = Storage.from_url(settings.resolved_storage_url)
    store = JobStore(engine)
    cadence = PollCadence(
        min_seconds=settings.poll_min_seconds, max_seconds=settings.poll_max_seconds
    )
    pipeline = Pipeline(
        store=store,
        provider=provider,
        storage=storage,
        catalog=catalog,
        cadence=cadence,
        internal_retry_limit=settings.internal_retry_limit,
        submit_concurrency=settings.submit_concurrency,
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        store=store,
        storage=storage,
        provider=provider,
        catalog=catalog,
        pipeline=pipeline,
        emulator_mode=emulator is not None,
        emulator_url=emulator.base_url if emulator else None,
    )
    try:
        yield runtime
    finally:
        await runtime.stop()
        await provider.aclose()
        await engine.dispose()
        if emulator is not None:
            emulator.stop()
