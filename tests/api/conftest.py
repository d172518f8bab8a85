"""The API in process: `create_app` with its lifespan entered, driven by httpx's ASGI transport.

Each test gets its own data directory (SQLite + media under ``tmp_path``) and the embedded
emulator (no ``RUNWAYML_API_SECRET``), tuned through its control endpoint for short tasks. The
request rate limit is off unless a test turns it on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import BASE_URL, Api, ApiFactory, make_settings
from fastapi import FastAPI

from vidgate.api.app import create_app
from vidgate.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def api_factory(settings: Settings) -> AsyncIterator[ApiFactory]:
    """Start apps (``create_app`` keyword arguments); all are stopped after the test."""
    async with AsyncExitStack() as stack:

        async def make(
            app_settings: Settings | None = None,
            *,
            configure: Callable[[FastAPI], None] | None = None,
            **kwargs: Any,
        ) -> Api:
            app = create_app(app_settings or settings, **kwargs)
            if configure is not None:
                configure(app)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = Api(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, timeout=60)
            client.app = app
            await stack.enter_async_context(client)
            if client.ctx.runtime.emulator_url:
                await client.emulator(pendingSeconds=0.0, taskSeconds=0.2)
            return client

        yield make


@pytest.fixture
async def api(api_factory: ApiFactory) -> Api:
    return await api_factory()
