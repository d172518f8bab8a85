"""POST /v1/uploads: streamed intake, type from the bytes, probing, model limits, the cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from api_helpers import Api, ApiFactory, make_settings

from vidgate.emulator.testing import still_image, video_clip


@pytest.fixture(scope="module")
def clip_360p() -> bytes:
    return video_clip(640, 360, 1.0, fps=12)


@pytest.fixture(scope="module")
def clip_720p() -> bytes:
    return video_clip(1280, 720, 1.0, fps=12)


def upload(
    name: str, data: bytes, content_type: str = "application/octet-stream"
) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, content_type)}


async def test_png_named_mp4_is_handled_as_png(api: Api) -> None:
    response = await api.post("/v1/uploads", files=upload("holiday.mp4", still_image(320, 200)))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "image" and body["mimeType"] == "image/png"
    assert (body["width"], body["height"]) == (320, 200)
    assert body["durationSeconds"] is None
    assert body["filename"] == "holiday.png"  # the extension follows the bytes
    assert body["uri"].startswith("runway://")
    expires = datetime.fromisoformat(body["expiresAt"])
    created = datetime.fromisoformat(body["createdAt"])
    assert expires - created == timedelta(hours=24)
    assert response.headers["location"] == f"/v1/uploads/{body['id']}"


async def test_video_upload_is_probed(api: Api, clip_360p: bytes) -> None:
    response = await api.post("/v1/uploads", files=upload("clip.bin", clip_360p))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "video" and body["mimeType"] == "video/mp4"
    assert (body["width"], body["height"]) == (640, 360)
    assert body["durationSeconds"] == pytest.approx(1.0, abs=0.1)
    assert body["bytes"] == len(clip_360p)


async def test_truncated_mp4_is_refused_with_a_reason(api: Api, clip_360p: bytes) -> None:
    cut = clip_360p[: len(clip_360p) // 2]
    response = await api.post("/v1/uploads", files=upload("clip.mp4", cut, "video/mp4"))
    assert response.status_code == 422
    [field] = response.json()["error"]["fields"]
    assert field["path"] == "file"
    assert "truncated" in field["message"] or "corrupt" in field["message"]


async def test_not_media_is_refused(api: Api) -> None:
    response = await api.post("/v1/uploads", files=upload("a.png", b"hello, world" * 100))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "file"
    gif = still_image(32, 32, fmt="GIF")
    response = await api.post("/v1/uploads", files=upload("a.gif", gif))
    assert response.status_code == 422
    assert "image/gif" in response.json()["error"]["fields"][0]["message"]


async def test_form_problems(api: Api) -> None:
    no_file = await api.post("/v1/uploads", data={"model": "gen4.5"}, files={"x": ("", b"")})
    assert no_file.status_code == 422
    not_form = await api.post("/v1/uploads", json={"file": "x"})
    assert not_form.status_code == 422
    assert not_form.json()["error"]["fields"][0]["path"] == "file"
    unknown_model = await api.post(
        "/v1/uploads", data={"model": "gen9"}, files=upload("a.png", still_image(32, 32))
    )
    assert unknown_model.status_code == 422
    assert unknown_model.json()["error"]["fields"][0]["path"] == "model"
    endpoint_alone = await api.post(
        "/v1/uploads", data={"endpoint": "video_to_video"}, files=upload("a.png", still_image(8, 8))
    )
    assert endpoint_alone.status_code == 422


async def test_model_limits_for_seedance2_video_to_video(
    api: Api, clip_360p: bytes, clip_720p: bytes
) -> None:
    form = {"model": "seedance2", "endpoint": "video_to_video"}
    low = await api.post("/v1/uploads", data=form, files=upload("low.mp4", clip_360p))
    assert low.status_code == 422
    [field] = low.json()["error"]["fields"]
    assert field["path"] == "file" and "720p" in field["message"]

    ok = await api.post("/v1/uploads", data=form, files=upload("ok.mp4", clip_720p))
    assert ok.status_code == 201, ok.text

    long_clip = video_clip(160, 120, 16.0, fps=4)
    too_long = await api.post("/v1/uploads", data=form, files=upload("long.mp4", long_clip))
    assert too_long.status_code == 422
    message = too_long.json()["error"]["fields"][0]["message"]
    assert "15 s" in message and "720p" in message

    as_video = {**form, "field": "promptVideo"}
    image = await api.post("/v1/uploads", data=as_video, files=upload("a.png", still_image(64, 64)))
    assert image.status_code == 422  # promptVideo takes no image (references would)
    as_reference = {**form, "field": "references"}
    image = await api.post(
        "/v1/uploads", data=as_reference, files=upload("a.png", still_image(8, 8))
    )
    assert image.status_code == 201, image.text


async def test_uploaded_media_in_a_generation(api: Api, clip_360p: bytes) -> None:
    image = (await api.post("/v1/uploads", files=upload("cat.jpg", still_image(1280, 720)))).json()
    body = {
        "endpoint": "image_to_video",
        "model": "gen4.5",
        "promptImage": image["uri"],
        "promptText": "the cat blinks",
        "ratio": "1280:720",
        "duration": 2,
    }
    response = await api.post("/v1/generations", json=body)
    assert response.status_code == 202, response.text
    assert (await api.wait_done(response.json()["id"]))["status"] == "succeeded"

    video = (await api.post("/v1/uploads", files=upload("v.mp4", clip_360p))).json()
    v2v = {"endpoint": "video_to_video", "model": "seedance2", "promptVideo": video["uri"]}
    refused = await api.post("/v1/generations", json=v2v)
    assert refused.status_code == 422
    [field] = refused.json()["error"]["fields"]
    assert field["path"] == "promptVideo" and "720p" in field["message"]

    wrong_kind = {**v2v, "promptVideo": image["uri"]}
    refused = await api.post("/v1/generations", json=wrong_kind)
    assert refused.status_code == 422
    assert "image" in refused.json()["error"]["fields"][0]["message"]


async def test_list_and_read_uploads(api: Api) -> None:
    first = (await api.post("/v1/uploads", files=upload("a.png", still_image(16, 16)))).json()
    second = (await api.post("/v1/uploads", files=upload("b.png", still_image(16, 16)))).json()
    page = (await api.get("/v1/uploads", params={"limit": 1})).json()
    assert [u["id"] for u in page["data"]] == [second["id"]]
    rest = (await api.get("/v1/uploads", params={"cursor": page["nextCursor"]})).json()
    assert [u["id"] for u in rest["data"]] == [first["id"]]
    assert (await api.get(f"/v1/uploads/{first['id']}")).json() == first
    assert (await api.get("/v1/uploads/01HZZZZZZZZZZZZZZZZZZZZZZZ")).status_code == 404


async def test_size_cap(api_factory: ApiFactory, tmp_path: Path) -> None:
    api = await api_factory(make_settings(tmp_path, upload_max_bytes=50_000), worker=False)
    big = still_image(16, 16) + bytes(60_000)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while streaming
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        yield head
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]
        yield b"\r\n--b--\r\n"

    response = await api.post(
        "/v1/uploads", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    huge = big + bytes(200_000)
    declared = await api.post("/v1/uploads", files=upload("a.png", huge))  # with Content-Length
    assert declared.status_code == 413
    leftovers = list((tmp_path / "tmp").glob("*")) if (tmp_path / "tmp").exists() else []
    assert leftovers == []
