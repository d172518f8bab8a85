"""A cancel sent through each surface while the create is in flight upstream: the page's and the
CLI's ``DELETE /v1/generations/{id}``, the official SDK's ``tasks.delete`` on /runway and the
``openai`` SDK's ``videos.delete``. Each ends the job cancelled at once (a 3 s test deadline; a
lost cancel used to wait out the 30 s lease), with the task the create made cancelled upstream
and its cost recorded.

The embedded emulator holds each create's answer back ``createAnswerSeconds`` after its task
exists, so the cancel lands between the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
import pytest
import runwayml
from api_helpers import BASE_URL, T2V, Api

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

ANSWER_SECONDS = 1.0
CANCEL_OFFSET_SECONDS = 0.25
DURING_CREATE = "cancelled while being submitted; the task was cancelled upstream"


def _in_process(api: Api) -> httpx.AsyncClient:
    """An HTTP client for an SDK, sending to the app in this process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app))


async def _emulator_get(api: Api, path: str) -> Any:
    async with httpx.AsyncClient(headers=api.emulator_headers) as plain:
        response = await plain.get(f"{api.ctx.runtime.emulator_url}/_emulator{path}")
        response.raise_for_status()
        return response.json()


async def _cancel_mid_create(api: Api, cancel: Callable[[str], Awaitable[None]]) -> dict[str, Any]:
    await api.emulator(createAnswerSeconds=ANSWER_SECONDS, taskSeconds=60)
    created = await api.post("/v1/generations", json=T2V)
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    async with asyncio.timeout(20):  # the task exists upstream; its answer is on the way
        while not await _emulator_get(api, "/tasks"):
            await asyncio.sleep(0.01)
    await asyncio.sleep(CANCEL_OFFSET_SECONDS)  # times the race; nothing is proved by it
    await cancel(job_id)
    async with asyncio.timeout(3):
        while (job := (await api.get(f"/v1/generations/{job_id}")).json())["status"] not in (
            "succeeded",
            "failed",
            "cancelled",
        ):
            await asyncio.sleep(0.02)
    assert job["status"] == "cancelled", job
    assert job["statusReason"] == DURING_CREATE
    assert job["costCredits"] == 24  # gen4.5, 2 s, cancelled RUNNING: the estimate, not refunded
    stats = await _emulator_get(api, "/stats")
    assert stats["tasksCreated"]["total"] == 1 and stats["taskDeletes"] == 1
    assert await _emulator_get(api, "/tasks") == []
    return job


async def test_delete_generation_as_the_page_and_the_cli_send_it(api: Api) -> None:
    async def cancel(job_id: str) -> None:
        answer = await api.delete(f"/v1/generations/{job_id}")
        assert answer.status_code == 202 and answer.json()["cancelRequested"] is True

    await _cancel_mid_create(api, cancel)


async def test_runway_sdk_tasks_delete(api: Api) -> None:
    client = runwayml.AsyncRunwayML(
        api_key="anything", base_url=f"{BASE_URL}/runway", http_client=_in_process(api)
    )

    async def cancel(job_id: str) -> None:
        await client.tasks.delete(job_id)

    await _cancel_mid_create(api, cancel)
    # The SDK reads the same end: a cancelled task with its cost.
    task = await client.tasks.retrieve((await api.get("/v1/generations")).json()["data"][0]["id"])
    assert task.status == "CANCELLED"


async def test_openai_sdk_videos_delete(api: Api) -> None:
    client = openai.AsyncOpenAI(
        api_key="anything", base_url=f"{BASE_URL}/openai/v1", http_client=_in_process(api)
    )

    async def cancel(job_id: str) -> None:
        assert (await client.videos.delete(job_id)).deleted is True

    await _cancel_mid_create(api, cancel)
