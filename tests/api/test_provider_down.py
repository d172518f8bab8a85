"""While the provider is down (the emulator answering 503), new work gets 503 with Retry-After in
the one envelope; replays and reads still work; the circuit closes once a call succeeds again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from api_helpers import T2V, Api, ApiFactory, make_settings

from vidgate.emulator.testing import still_image

CHAIN = {
    "endpoint": "chain",
    "model": "gen4.5",
    "promptText": "a lighthouse at dusk",
    "duration": 5,
    "ratio": "1280:720",
    "segmentDurations": [3, 2],
}


@pytest.fixture(autouse=True)
def _one_attempt_per_call() -> Iterator[None]:
    """The provider's own retries (stamina) collapse to one attempt without backoff, so a call to
    a faulted emulator fails at once; the circuit counts calls, never the retries inside them."""
    with stamina.set_testing(True, attempts=1):
        yield


def assert_unavailable(response: httpx.Response, probe_seconds: float) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.json().keys() == {"error"}
    error: dict[str, Any] = response.json()["error"]
    assert error.keys() == {"code", "message"}
    assert error["code"] == "provider_unavailable"
    assert 1 <= int(response.headers["retry-after"]) <= probe_seconds
    return error


async def readiness(api: Api) -> dict[str, Any]:
    response = await api.get("/readyz")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_for_provider(api: Api, state: str, timeout: float = 20.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while (ready := await readiness(api))["provider"] != state:
            await asyncio.sleep(0.05)
    return ready


async def emulator_stats(api: Api) -> dict[str, Any]:
    url = api.ctx.runtime.emulator_url
    async with httpx.AsyncClient(headers=api.emulator_headers) as plain:
        stats: dict[str, Any] = (await plain.get(f"{url}/_emulator/stats")).json()
        return stats


async def test_503_while_the_provider_is_down_and_accepted_once_it_answers(
    api_factory: ApiFactory, tmp_path: Path
) -> None:
    probe = 30.0
    settings = make_settings(tmp_path, provider_down_after_failures=2, provider_probe_seconds=probe)
    api = await api_factory(settings)
    first = await api.post("/v1/generations", json=T2V, headers={"Idempotency-Key": "before"})
    assert first.status_code == 202, first.text
    job_id = first.json()["id"]
    assert (await api.wait_done(job_id))["status"] == "succeeded"
    runway = {"X-Runway-Version": "2024-11-06", "Authorization": "Bearer x"}
    sdk_body = {k: v for k, v in T2V.items() if k != "endpoint"}
    by_sdk = await api.post("/runway/v1/text_to_video", json=sdk_body, headers=runway)
    assert by_sdk.status_code == 200, by_sdk.text

    # The provider goes down. A job accepted before anyone knows it: its creates fail upstream,
    # and the worker's retries of them are what opens the circuit.
    await api.emulator(http5xxRate=1.0)
    during = await api.post("/v1/generations", json={**T2V, "promptText": "waves at night"})
    assert during.status_code == 202, during.text
    assert await wait_for_provider(api, "down") == {
        "status": "degraded",
        "database": "ok",
        "provider": "down",
    }

    # New work: 503 with Retry-After, in the envelope; uploads never reach the provider.
    refused = await api.post("/v1/generations", json={**T2V, "promptText": "a new one"})
    assert "new generations are refused" in assert_unavailable(refused, probe)["message"]
    keyed = await api.post("/v1/generations", json=T2V, headers={"Idempotency-Key": "after"})
    assert_unavailable(keyed, probe)
    assert_unavailable(await api.post("/v1/generations", json=CHAIN), probe)
    # Bad input is still named, not hidden behind the 503.
    invalid = await api.post("/v1/generations", json={**T2V, "duration": 99})
    assert invalid.status_code == 422, invalid.text
    assert invalid.json()["error"]["fields"][0]["path"] == "duration"
    uploads_before = (await emulator_stats(api))["uploads"]
    files = {"file": ("still.png", still_image(64, 64), "image/png")}
    upload = await api.post("/v1/uploads", files=files)
    assert "uploads are refused" in assert_unavailable(upload, probe)["message"]
    assert (await emulator_stats(api))["uploads"] == uploads_before

    # A replay is answered with its job as always (and a reused key with another body, 409).
    replay = await api.post("/v1/generations", json=T2V, headers={"Idempotency-Key": "before"})
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] == job_id
    assert replay.headers["idempotent-replayed"] == "true"
    reused = await api.post(
        "/v1/generations", json={**T2V, "duration": 3}, headers={"Idempotency-Key": "before"}
    )
    assert reused.status_code == 409, reused.text
    # So is an SDK's retry of a create whose job was made; a new create through the SDK is not.
    retried = await api.post(
        "/runway/v1/text_to_video",
        json=sdk_body,
        headers={**runway, "x-stainless-retry-count": "1"},
    )
    assert retried.status_code == 200 and retried.json()["id"] == by_sdk.json()["id"]
    again = await api.post("/runway/v1/text_to_video", json=sdk_body, headers=runway)
    assert again.status_code == 503, again.text

    # Reads keep working.
    assert (await api.get(f"/v1/generations/{job_id}")).json()["status"] == "succeeded"
    assert (await api.get(f"/v1/generations/{job_id}/video")).status_code == 200
    assert (await api.get("/v1/generations")).status_code == 200
    assert (await api.get("/v1/models")).status_code == 200
    estimate = await api.post("/v1/estimate", json={"model": "gen4.5", "duration": 5})
    assert estimate.status_code == 200
    metrics = (await api.get("/metrics")).text
    assert 'vidgate_provider_down{provider="runway"} 1.0' in metrics
    waiting = (await api.get(f"/v1/generations/{during.json()['id']}")).json()
    assert waiting["status"] in ("queued", "submitting")  # tried again and again, never failed

    # The provider is back: the worker's next try of the waiting job succeeds and closes it.
    await api.emulator(http5xxRate=0.0)
    ready = await wait_for_provider(api, "ok")
    assert ready == {"status": "ready", "database": "ok", "provider": "ok"}
    after = await api.post("/v1/generations", json=T2V, headers={"Idempotency-Key": "after"})
    assert after.status_code == 202, after.text
    for job in (during.json()["id"], after.json()["id"]):
        assert (await api.wait_done(job))["status"] == "succeeded"
    metrics = (await api.get("/metrics")).text
    assert 'vidgate_provider_down{provider="runway"} 0.0' in metrics
    assert 'vidgate_provider_failures{provider="runway"} 0.0' in metrics
