"""Data URIs are checked by their bytes at intake: what is not what it declares is a 422 naming the
field, and nothing is queued. The probe is the one an upload and an ingested URL go through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from api_helpers import Api, ApiFactory, make_settings
from test_hostile_urls import fake_dns

from media_bombs import png_bomb
from vidgate.emulator.testing import data_uri, still_image


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
        (i2v(data_uri(html, "image/png")), "promptImage"),
        (i2v([{"uri": data_uri(html, "image/png"), "position": "first"}]), "promptImage[0].uri"),
    ]:
        fields = await refusal(api, body)
        assert [f["path"] for f in fields] == [path]
        assert "judged by its bytes" in fields[0]["message"]
    assert (await api.get("/v1/generations")).json()["data"] == []


async def test_a_data_uri_must_hold_the_type_it_declares(api: Api) -> None:
    jpeg = still_image(1280, 720, fmt="JPEG")
    fields = await refusal(api, i2v(data_uri(jpeg, "image/png")))
    assert fields == [
        {"path": "promptImage", "message": "the data URI says image/png but holds image/jpeg"}
    ]
    truncated = still_image(1280, 720)[:200]
    fields = await refusal(api, i2v(data_uri(truncated, "image/png")))
    assert [f["path"] for f in fields] == ["promptImage"]
    assert (await api.get("/v1/generations")).json()["data"] == []


async def test_a_real_image_data_uri_is_accepted(api: Api) -> None:
    png = data_uri(still_image(1280, 720), "image/png")
    response = await api.post("/v1/generations", json=i2v(png))
    assert response.status_code == 202, response.text
    shown = response.json()["request"]["promptImage"]
    assert shown.startswith("data:image/png;base64,")


async def test_bombs_are_refused_in_every_intake_path(
    api_factory: ApiFactory, tmp_path: Path
) -> None:
    """An upload, a data URI and a URL fetched in ingest mode go through one bounded probe."""
    bomb = png_bomb()

    def media_server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(bomb), headers={"Content-Type": "image/png"}
        )

    settings = make_settings(tmp_path, media_allowed_hosts="allowed.test", media_ingest=True)
    api = await api_factory(
        settings,
        resolver=fake_dns,
        media_client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(media_server)),
    )
    declares = "declares a picture over 25,000,000 pixels"
    for image in ("https://allowed.test/bomb.png", data_uri(bomb, "image/png")):
        fields = await refusal(api, i2v(image))
        assert [f["path"] for f in fields] == ["promptImage"]
        assert declares in fields[0]["message"]
    response = await api.post("/v1/uploads", files={"file": ("bomb.png", bomb)})
    assert response.status_code == 422
    [problem] = response.json()["error"]["fields"]
    assert problem["path"] == "file" and declares in problem["message"]
    assert (await api.get("/v1/uploads")).json()["data"] == []
    assert (await api.get("/v1/generations")).json()["data"] == []
