"""Data URIs are checked by their bytes at intake: what is not what it declares is a 422 naming the
field, and nothing is queued. The probe is the one an upload goes through."""

from __future__ import annotations

import base64
from typing import Any

from api_helpers import Api

from vidgate.emulator.testing import still_image


def data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


def i2v(image: Any) -> dict[str, Any]:
    return {
        "endpoint": "image_to_video",
        "model": "gen4_turbo",
        "promptImage": image,
        "ratio": "1280:720",
        "duration": 2,
    }


async def refusal(api: Api, body: dict[str, Any]) -> list[dict[str, str]]:
    response = await api.post("/v1/generations", json=body)
    assert response.status_code == 422, response.text
    fields: list[dict[str, str]] = response.json()["error"]["fields"]
    return fields


async def test_a_png_data_uri_holding_html_is_refused_before_anything_is_queued(api: Api) -> None:
    html = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
    for body, path in [
        (i2v(data_uri("image/png", html)), "promptImage"),
        (i2v([{"uri": data_uri("image/png", html), "position": "first"}]), "promptImage[0].uri"),
    ]:
        fields = await refusal(api, body)
        assert [f["path"] for f in fields] == [path]
        assert "judged by its bytes" in fields[0]["message"]
    assert (await api.get("/v1/generations")).json()["data"] == []


async def test_a_data_uri_must_hold_the_type_it_declares(api: Api) -> None:
    jpeg = still_image(1280, 720, fmt="JPEG")
    fields = await refusal(api, i2v(data_uri("image/png", jpeg)))
    assert fields == [
        {"path": "promptImage", "message": "the data URI says image/png but holds image/jpeg"}
    ]
    truncated = still_image(1280, 720)[:200]
    fields = await refusal(api, i2v(data_uri("image/png", truncated)))
    assert [f["path"] for f in fields] == ["promptImage"]
    assert (await api.get("/v1/generations")).json()["data"] == []


async def test_a_real_image_data_uri_is_accepted(api: Api) -> None:
    png = data_uri("image/png", still_image(1280, 720))
    response = await api.post("/v1/generations", json=i2v(png))
    assert response.status_code == 202, response.text
    shown = response.json()["request"]["promptImage"]
    assert shown.startswith("data:image/png;base64,")
