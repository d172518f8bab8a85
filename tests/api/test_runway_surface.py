"""The Runway-compatible surface at /runway, driven by the official async SDK (in process).

The SDK is the client (its own classes for every error), the app runs with its lifespan and the
embedded emulator; only the SDK's transport is the ASGI app instead of a socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import runwayml
from api_helpers import BASE_URL, T2V, Api, ApiFactory, bearer

from vidgate.emulator.testing import still_image
from vidgate.media.probe import probe_media

BODY = {k: v for k, v in T2V.items() if k != "endpoint"}


def sdk(api: Api, secret: str = "anything", **kwargs: Any) -> runwayml.AsyncRunwayML:
    return runwayml.AsyncRunwayML(
        api_key=secret,
        base_url=f"{BASE_URL}/runway",
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app)),
        **kwargs,
    )


async def wait_task(api: Api, client: runwayml.AsyncRunwayML, task_id: str) -> Any:
    await api.wait_done(task_id)
    return await client.tasks.retrieve(task_id)


async def test_text_to_video_answers_a_vidgate_link_to_the_stored_video(api: Api) -> None:
    client = sdk(api)
    created = await client.text_to_video.create(
        model="gen4.5", prompt_text="a lighthouse at dusk", ratio="1280:720", duration=2
    )
    first = await client.tasks.retrieve(created.id)
    assert first.status in ("PENDING", "THROTTLED", "RUNNING", "SUCCEEDED")
    task = await created.wait_for_task_output()  # the async SDK's own helper
    assert task.status == "SUCCEEDED"
    url = task.output[0]
    assert url.startswith(f"{BASE_URL}/files/{created.id}.mp4?")
    # The link needs no key; it serves vidgate's stored copy, with ranges.
    whole = await api.get(url.removeprefix(BASE_URL))
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = await api.get(url.removeprefix(BASE_URL), headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    tmp = Path(api.ctx.runtime.settings.data_dir) / "out.mp4"
    tmp.write_bytes(whole.content)
    info = probe_media(tmp)
    assert (info.width, info.height, info.duration_seconds) == (1280, 720, 2.0)
    # A tampered link opens nothing.
    forged = await api.get(url.removeprefix(BASE_URL).replace("signature=", "signature=x"))
    assert forged.status_code == 403
    # It is an ordinary job.
    listed = (await api.get("/v1/generations")).json()["data"]
    assert [job["id"] for job in listed] == [created.id]


async def test_bad_input_is_a_bad_request_naming_the_field(api: Api) -> None:
    client = sdk(api)
    with pytest.raises(runwayml.BadRequestError) as caught:
        await client.text_to_video.create(
            model="veo3.1", prompt_text="a lighthouse", ratio="1280:720", duration=5
        )
    assert "duration" in str(caught.value)
    with pytest.raises(runwayml.BadRequestError) as hostile:
        await client.image_to_video.create(
            model="gen4.5",
            prompt_image="http://169.254.169.254/latest/meta-data",
            prompt_text="x",
            ratio="1280:720",
            duration=2,
        )
    assert "promptImage" in str(hostile.value)
    assert (await api.get("/v1/generations")).json()["data"] == []


async def test_keys_version_and_unknown_tasks(api: Api) -> None:
    token = await api.new_key()
    with pytest.raises(runwayml.AuthenticationError):
        await sdk(api, "not-a-key").text_to_video.create(**_sdk_body())
    client = sdk(api, token)
    with pytest.raises(runwayml.NotFoundError):
        await client.tasks.retrieve("01JNOSUCHTASK0000000000000")
    wrong = await api.get(
        "/runway/v1/tasks/x", headers={**bearer(token), "X-Runway-Version": "2020-01-01"}
    )
    assert wrong.status_code == 400 and "X-Runway-Version" in wrong.json()["error"]
    missing = await api.get("/runway/v1/tasks/x", headers=bearer(token))
    assert missing.status_code == 400 and "X-Runway-Version" in missing.json()["error"]


def _sdk_body() -> dict[str, Any]:
    return {"model": "gen4.5", "prompt_text": "a lighthouse", "ratio": "1280:720", "duration": 2}


async def test_a_retried_create_returns_the_first_task(api: Api) -> None:
    headers = {"X-Runway-Version": "2024-11-06", "Authorization": "Bearer x"}
    first = await api.post("/runway/v1/text_to_video", json=BODY, headers=headers)
    again = await api.post(
        "/runway/v1/text_to_video", json=BODY, headers={**headers, "x-stainless-retry-count": "1"}
    )
    fresh = await api.post("/runway/v1/text_to_video", json=BODY, headers=headers)
    assert first.status_code == again.status_code == fresh.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert fresh.json()["id"] != first.json()["id"]
    keyed = {**headers, "Idempotency-Key": "k1"}
    one = await api.post("/runway/v1/text_to_video", json=BODY, headers=keyed)
    two = await api.post("/runway/v1/text_to_video", json=BODY, headers=keyed)
    assert one.json()["id"] == two.json()["id"]
    other = await api.post("/runway/v1/text_to_video", json={**BODY, "duration": 3}, headers=keyed)
    assert other.status_code == 409 and other.headers["x-should-retry"] == "false"


async def test_concurrent_sdk_retries_make_one_task(api: Api) -> None:
    """The SDK's retries of one create, all in flight at once (the first try lost on the way):
    one task, whatever order they commit in."""
    client = sdk(api)
    created = await asyncio.gather(
        *(
            client.text_to_video.create(
                **_sdk_body(), extra_headers={"x-stainless-retry-count": str(1 + i % 2)}
            )
            for i in range(6)
        )
    )
    assert len({task.id for task in created}) == 1
    assert len((await api.get("/v1/generations")).json()["data"]) == 1


async def test_delete_cancels_the_task(api: Api) -> None:
    await api.emulator(taskSeconds=30)
    client = sdk(api)
    created = await client.text_to_video.create(**_sdk_body())
    while (await client.tasks.retrieve(created.id)).status != "RUNNING":  # an upstream task exists
        await asyncio.sleep(0.05)
    await client.tasks.delete(created.id)
    await api.wait_done(created.id)
    assert (await client.tasks.retrieve(created.id)).status == "CANCELLED"
    # And upstream: the emulator's task was deleted.
    async with httpx.AsyncClient(headers=api.emulator_headers) as plain:
        stats = (await plain.get(f"{api.ctx.runtime.emulator_url}/_emulator/stats")).json()
    assert stats["taskDeletes"] == 1 and stats["tasksCreated"]["total"] == 1


async def test_upload_then_image_to_video(api: Api, tmp_path: Path) -> None:
    image = tmp_path / "still.png"
    image.write_bytes(still_image(1280, 720))
    client = sdk(api)
    # The SDK's two steps by hand: it sends the file with a client of its own (not this app's).
    headers = {"X-Runway-Version": "2024-11-06", "Authorization": "Bearer x"}
    slot = await api.post(
        "/runway/v1/uploads", json={"filename": "still.png", "type": "ephemeral"}, headers=headers
    )
    assert slot.status_code == 200, slot.text
    uri = slot.json()["runwayUri"]
    assert uri.startswith("runway://vidgate-upload/")
    target = slot.json()["uploadUrl"].removeprefix(BASE_URL)
    files = {"file": ("still.png", image.read_bytes(), "image/png")}
    sent = await api.post(target, data=slot.json()["fields"], files=files)
    assert sent.status_code == 204, sent.text
    forged = await api.post(target.replace("signature=", "signature=x"), files=files)
    assert forged.status_code == 401
    created = await client.image_to_video.create(
        model="gen4.5", prompt_image=uri, prompt_text="wind", ratio="1280:720", duration=2
    )
    task = await wait_task(api, client, created.id)
    assert task.status == "SUCCEEDED"
    stored = (await api.get(f"/v1/generations/{created.id}")).json()
    assert not stored["request"]["promptImage"].startswith("runway://vidgate-upload/")
    with pytest.raises(runwayml.BadRequestError) as unfilled:
        await client.image_to_video.create(
            model="gen4.5",
            prompt_image="runway://vidgate-upload/never",
            prompt_text="x",
            ratio="1280:720",
            duration=2,
        )
    assert "promptImage" in str(unfilled.value)


async def test_organization_answers_for_the_caller(api_factory: ApiFactory) -> None:
    api = await api_factory()
    client = sdk(api)
    created = await client.text_to_video.create(**_sdk_body())
    await api.wait_done(created.id)
    org = await client.organization.retrieve()
    assert org.usage.models["gen4.5"].daily_generations == 1
    usage = await client.organization.retrieve_usage()
    assert usage.models == ["gen4.5"]
    assert usage.results[0].used_credits[0].amount > 0


async def test_bodies_refused_before_the_route_are_in_runways_shape(api: Api) -> None:
    headers = {"X-Runway-Version": "2024-11-06", "Content-Type": "application/json"}
    bad = await api.post(
        "/runway/v1/text_to_video", content=b'{"model": "gen4.5", "duration": NaN}', headers=headers
    )
    assert bad.status_code == 400 and "duration" in bad.json()["error"]


async def test_budget_and_rate_refusals(api_factory: ApiFactory, tmp_path: Path) -> None:
    from api_helpers import make_settings

    from vidgate.tenancy.budgets import BudgetStore

    api = await api_factory(make_settings(tmp_path, api_rate_per_second=0.001, api_rate_burst=2))
    created = await api.keys.create_key("tenant")
    await BudgetStore(api.ctx.runtime.engine).set_budget(created.key.id, daily=10, monthly=None)
    client = sdk(api, created.token, max_retries=0)
    with pytest.raises(runwayml.APIStatusError) as refused:
        await client.text_to_video.create(**_sdk_body())  # 24 credits against 10
    assert refused.value.status_code == 402 and "budget" in str(refused.value)
    assert refused.value.response.headers["x-should-retry"] == "false"
    await client.organization.retrieve()
    with pytest.raises(runwayml.RateLimitError) as limited:
        await client.organization.retrieve()
    assert int(limited.value.response.headers["retry-after"]) >= 1


HEADERS = {"X-Runway-Version": "2024-11-06", "Authorization": "Bearer x"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/runway/v1/text_to_video", b"[]"),
        ("POST", "/runway/v1/text_to_video", b'"text"'),
        ("POST", "/runway/v1/text_to_video", b'{"model": 5}'),
        ("POST", "/runway/v1/text_to_video", b'{"model": "nope", "promptText": "x"}'),
        ("POST", "/runway/v1/image_to_video", b'{"model": "gen4.5", "promptImage": {"a": []}}'),
        ("POST", "/runway/v1/video_to_video", b'{"model": "gen4.5", "duration": 1e308}'),
        ("POST", "/runway/v1/character_performance", b'{"model": "act_two", "character": 1}'),
        ("POST", "/runway/v1/text_to_video", b"\xff\xfe not utf-8"),
        ("POST", "/runway/v1/uploads", b'{"filename": 5, "type": "permanent"}'),
        ("POST", "/runway/v1/uploads", b'{"filename": "' + b"a" * 300 + b'"}'),
        ("POST", "/runway/v1/organization/usage", b'{"startDate": "2026-13-40"}'),
        ("POST", "/runway/v1/organization/usage", b'{"startDate": 5}'),
        (
            "POST",
            "/runway/v1/organization/usage",
            b'{"startDate": "2026-01-01", "beforeDate": "2025-01-01"}',
        ),
        ("GET", "/runway/v1/tasks/" + "x" * 300, b""),
        ("DELETE", "/runway/v1/tasks/nope", b""),
        ("POST", "/runway/uploads/slot?expires=1&signature=x", b"junk"),
        ("POST", "/runway/uploads/slot?expires=abc&signature=x", b"junk"),
        ("GET", "/files/nope.mp4?expires=99999999999&signature=x", b""),
        ("GET", "/files/nope.mp4", b""),
    ],
)
async def test_bad_requests_get_4xx_in_runways_shape(
    api: Api, method: str, path: str, body: bytes
) -> None:
    headers = {**HEADERS, "Content-Type": "application/json"}
    response = await api.request(method, path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["error"], str | dict)
    if path.startswith("/runway/"):
        assert isinstance(response.json()["error"], str)
