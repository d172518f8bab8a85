"""Every error the API sends has one JSON shape; this file pins it (datasette's test_error_shape).

    {"error": {"code": str, "message": str}}                      every status but 422
    {"error": {"code": str, "message": str, "fields": [...]}}     422, each field {path, message}

No stack trace ever reaches the client.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_helpers import T2V, Api, ApiFactory, bearer, make_settings
from fastapi import FastAPI

from vidgate.emulator.testing import still_image


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    expected_keys = {"code", "message", "fields"} if status == 422 else {"code", "message"}
    assert set(error) == expected_keys
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if status == 422:
        assert isinstance(error["fields"], list) and error["fields"]
        for item in error["fields"]:
            assert set(item) == {"path", "message"}
            assert isinstance(item["path"], str) and isinstance(item["message"], str)
    for leak in ("Traceback", 'File "', "site-packages"):
        assert leak not in response.text
    assert response.headers.get("x-request-id")
    return error


def paths(error: dict[str, Any]) -> set[str]:
    return {item["path"] for item in error["fields"]}


async def test_422_lists_every_bad_field(api: Api) -> None:
    body = {**T2V, "ratio": "1:1", "duration": 99}
    del body["promptText"]
    error = assert_envelope(await api.post("/v1/generations", json=body), 422, "validation_failed")
    assert paths(error) >= {"promptText", "ratio", "duration"}


async def test_422_for_a_rejected_media_url_names_the_field_and_rule(api: Api) -> None:
    body = {
        "endpoint": "image_to_video",
        "model": "gen4.5",
        "promptText": "x",
        "ratio": "1280:720",
        "duration": 5,
        "promptImage": "https://media.example.com/cat.png",
    }
    response = await api.post("/v1/generations", json=body)
    error = assert_envelope(response, 422, "validation_failed")
    [field] = error["fields"]
    assert field["path"] == "promptImage"
    assert "VIDGATE_MEDIA_ALLOWED_HOSTS" in field["message"]


@pytest.mark.parametrize(
    ("content", "expected_path"),
    [
        (b"{not json", ""),
        (b'{"endpoint": "text_to_pictures", "model": "gen4.5"}', "endpoint"),
        (b'{"endpoint": "text_to_video"}', "model"),
        (b"[1, 2]", ""),
    ],
)
async def test_422_from_request_parsing_has_the_same_shape(
    api: Api, content: bytes, expected_path: str
) -> None:
    response = await api.post(
        "/v1/generations", content=content, headers={"Content-Type": "application/json"}
    )
    error = assert_envelope(response, 422, "validation_failed")
    assert expected_path in paths(error)


async def test_422_for_query_parameters(api: Api) -> None:
    error = assert_envelope(
        await api.get("/v1/generations", params={"limit": "many"}), 422, "validation_failed"
    )
    assert paths(error) == {"limit"}
    error = assert_envelope(
        await api.get("/v1/generations", params={"cursor": "nope"}), 422, "validation_failed"
    )
    assert paths(error) == {"cursor"}


async def test_404_and_405_from_routing(api: Api) -> None:
    assert_envelope(await api.get("/v1/nothing-here"), 404, "not_found")
    response = await api.put("/v1/generations")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_404_for_a_missing_job_and_model(api: Api) -> None:
    assert_envelope(await api.get("/v1/generations/01HZZZZZZZZZZZZZZZZZZZZZZZ"), 404, "not_found")
    assert_envelope(await api.get("/v1/models/gen9"), 404, "not_found")


async def test_401_once_a_key_exists(api: Api) -> None:
    await api.new_key()
    response = await api.get("/v1/generations")
    assert_envelope(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_envelope(
        await api.get("/v1/generations", headers=bearer("vg_wrong")), 401, "unauthorized"
    )
    response = await api.get("/v1/generations", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_envelope(response, 401, "unauthorized")


async def test_409_for_a_reused_idempotency_key(api: Api) -> None:
    headers = {"Idempotency-Key": "order-1"}
    assert (await api.post("/v1/generations", json=T2V, headers=headers)).status_code == 202
    other = {**T2V, "promptText": "something else"}
    assert_envelope(await api.post("/v1/generations", json=other, headers=headers), 409, "conflict")


async def test_413_for_an_oversized_json_body(api_factory: ApiFactory, tmp_path: Any) -> None:
    api = await api_factory(make_settings(tmp_path, json_body_max_bytes=2000), worker=False)
    big = {**T2V, "promptText": "x" * 5000}
    assert_envelope(await api.post("/v1/generations", json=big), 413, "payload_too_large")

    async def chunked() -> Any:  # no Content-Length: the cap applies while reading
        yield b'{"endpoint": "text_to_video", "promptText": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    response = await api.post(
        "/v1/generations", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 413, "payload_too_large")


async def test_429_with_retry_after(api_factory: ApiFactory, tmp_path: Any) -> None:
    settings = make_settings(tmp_path, api_rate_per_second=0.5, api_rate_burst=2)
    api = await api_factory(settings, worker=False)
    assert (await api.get("/v1/models")).status_code == 200
    assert (await api.get("/v1/models")).status_code == 200
    response = await api.get("/v1/models")
    assert_envelope(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    assert (await api.get("/healthz")).status_code == 200  # health is never rate limited


async def test_500_carries_no_detail(api_factory: ApiFactory) -> None:
    def add_boom(app: FastAPI) -> None:
        async def boom() -> None:
            raise RuntimeError("secret detail: password=hunter2")

        app.add_api_route("/_boom", boom)

    api = await api_factory(worker=False, configure=add_boom)
    response = await api.get("/_boom")
    error = assert_envelope(response, 500, "internal_error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert response.headers["x-request-id"] in error["message"]


async def test_503_with_retry_after_while_the_provider_is_down(api: Api) -> None:
    await api.emulator(http5xxRate=1.0)
    files = {"file": ("still.png", still_image(64, 64), "image/png")}
    response = await api.post("/v1/uploads", files=files)
    assert_envelope(response, 503, "provider_unavailable")
    assert int(response.headers["retry-after"]) >= 1
