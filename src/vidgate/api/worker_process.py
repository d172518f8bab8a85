"""``vidgate worker``: the job worker and the webhook dispatcher as their own process.

It lives in the API package because a webhook's payload is the API's view of a job
(:func:`vidgate.api.routes.webhooks.job_payload`): the CLI starts the process, the API knows the
shape.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from vidgate.api.logging import configure_logging
from vidgate.api.routes.webhooks import job_payload
from vidgate.runtime import Background, open_runtime
from vidgate.settings import load_settings

__all__ = ["run_worker"]

log = logging.getLogger("vidgate.worker")


def run_worker(*, concurrency: int | None = None, echo: Callable[[str], None] = print) -> None:
    """Run the worker and the webhook dispatcher until SIGINT or SIGTERM."""

    async def run() -> None:
        settings = load_settings()
        configure_logging(settings)
        background = Background(render=job_payload, concurrency=concurrency)
        async with open_runtime(settings, background=background) as runtime:
            name = runtime.worker_name
            echo(f"worker {name} running")
            log.info("worker %s running", name)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            log.info("worker %s stopping: steps in flight finish first", name)
        log.info("worker %s stopped", name)

    asyncio.run(run())
