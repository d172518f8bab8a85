"""The pipeline harness of the integration tests (imported by name: tests/integration is on
sys.path): the real store, storage, provider client, pipeline and worker, against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidgate.catalog import get_catalog
from vidgate.emulator.server import EmulatorServer
from vidgate.jobs.models import Job
from vidgate.jobs.store import JobStore
from vidgate.pipeline.context import StepContext
from vidgate.pipeline.polling import PollCadence
from vidgate.pipeline.runner import Pipeline
from vidgate.pipeline.worker import Worker
from vidgate.provider.limits import ProviderLimits
from vidgate.provider.runway import RunwayProvider
from vidgate.requests.chain_plan import validate_chain
from vidgate.runtime import EMULATOR_API_KEY
from vidgate.storage import Storage

GEN45 = {"model": "gen4.5", "promptText": "a lighthouse at dusk", "ratio": "1280:720"}


@dataclass
class Harness:
    store: JobStore
    storage: Storage
    pipeline: Pipeline
    worker: Worker
    emulator: EmulatorServer
    media_dir: Path

    @classmethod
    def build(
        cls,
        store: JobStore,
        media_dir: Path,
        emulator: EmulatorServer,
        storage: Storage | None = None,
    ) -> Harness:
        """A pipeline and worker of their own (as a new process would have) over ``store``,
        storing in ``storage`` (default: the directory ``media_dir``)."""
        provider = RunwayProvider(
            api_key=EMULATOR_API_KEY, base_url=emulator.base_url, retry_timeout=20.0
        )
        storage = storage or Storage.from_url(media_dir.as_uri())
        pipeline = Pipeline(
            StepContext(
                store=store,
                provider=provider,
                storage=storage,
                catalog=get_catalog(),
                cadence=PollCadence(min_seconds=0.1, max_seconds=0.5),
                internal_retry_limit=2,
                limits=ProviderLimits(provider),
            )
        )
        worker = Worker(pipeline, idle_seconds=0.05)
        return cls(store, storage, pipeline, worker, emulator, media_dir)

    async def aclose(self) -> None:
        await self.pipeline.context.provider.aclose()

    async def submit(self, body: dict[str, Any] | None = None, **job: Any) -> Job:
        request = dict(body or {**GEN45, "duration": 2})
        created = await self.store.create_job(
            endpoint=job.pop("endpoint", "text_to_video"),
            model=request["model"],
            request=request,
            **job,
        )
        self.worker.wake()
        return created.job

    async def submit_chain(self, raw: dict[str, Any]) -> Job:
        plan = validate_chain(raw)
        created = await self.store.create_job(
            endpoint="chain",
            model=plan.model,
            request=dict(plan.body),
            estimated_credits=plan.estimate_credits(),
        )
        self.worker.wake()
        return created.job

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The worker runs in the background for the duration of the block."""
        stop = asyncio.Event()
        runner = asyncio.create_task(self.worker.run(stop))
        try:
            yield
        finally:
            stop.set()
            await runner

    async def run_until_done(self, *job_ids: str, timeout: float = 30.0) -> list[Job]:
        """Run the worker until every job is terminal; fail the test if one gets stuck."""
        async with self.running(), asyncio.timeout(timeout):
            while True:
                jobs = [await self.store.get_job(i) for i in job_ids]
                if all(j.status.is_terminal for j in jobs):
                    return jobs
                await asyncio.sleep(0.05)

    async def cancel(self, job_id: str, timeout: float = 30.0) -> Job:
        """Ask to cancel ``job_id`` (inside ``running()``) and wait until it is terminal."""
        await self.store.request_cancel(job_id)
        self.worker.wake()
        async with asyncio.timeout(timeout):
            while not (job := await self.store.get_job(job_id)).status.is_terminal:
                await asyncio.sleep(0.02)
        return job

    def path(self, key: str | None) -> Path:
        """The local file of a stored key."""
        assert key is not None
        local = self.storage.local_path(key)
        assert local is not None
        return local
