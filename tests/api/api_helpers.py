"""Helpers shared by the API tests (imported by name: tests/api is on sys.path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from vidgate.api.deps import ApiContext
from vidgate.emulator.app import CONTROL_TOKEN_HEADER
from vidgate.settings import Settings, load_settings
from vidgate.tenancy.keys import KeyStore

BASE_URL = "http://vidgate.test"

# A job that is quick to render: the shortest gen4.5 text to video.
T2V = {
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk",
    "ratio": "1280:720",
    "duration": 2,
}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "emulator_task_seconds": 0.2,
        "poll_min_seconds": 0.05,
        "poll_max_seconds": 0.2,
        "api_rate_per_second": 0,
    }
    values.update(overrides)
    return load_settings(**values)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api(httpx.AsyncClient):
    """An httpx client bound to one running app, with handles on the app's insides."""

    app: FastAPI

    @property
    def ctx(self) -> ApiContext:
        ctx = self.app.state.ctx
        assert isinstance(ctx, ApiContext)
        return ctx

    @property
    def keys(self) -> KeyStore:
        return self.ctx.keys

    @property
    def emulator_headers(self) -> dict[str, str]:
        """The embedded emulator's control token, as its control endpoint wants it."""
        token = self.ctx.runtime.emulator_token
        return {CONTROL_TOKEN_HEADER: token} if token else {}

    async def emulator(self, **knobs: Any) -> dict[str, Any]:
        """Set knobs of the embedded emulator over its control endpoint."""
        url = self.ctx.runtime.emulator_url
        assert url is not None, "not in emulator mode"
        async with httpx.AsyncClient(headers=self.emulator_headers) as plain:
            response = await plain.post(f"{url}/_emulator/config", json=knobs)
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

    async def new_key(self, name: str = "tenant") -> str:
        return (await self.keys.create_key(name)).token

    async def wait_done(self, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        job: dict[str, Any] = {}
        for _ in range(10):
            r = await self.get(f"/v1/generations/{job_id}", params={"wait": 10}, headers=headers)
            assert r.status_code == 200, r.text
            job = r.json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
        raise AssertionError(f"job {job_id} did not finish: {job}")


ApiFactory = Callable[..., Awaitable[Api]]
"""``await api_factory(settings=None, *, configure=None, **create_app_kwargs)``"""
