"""NUL and the other C0 control characters (but tab, line feed and carriage return) in text are a
422 naming the field, in a JSON body as in a form field; a form field that is not UTF-8 is a 422
naming it too, never read as latin-1 (docs/api.md, "Text")."""

from __future__ import annotations

import json

import pytest
from api_helpers import T2V, Api

from vidgate.emulator.testing import still_image


def fields_of(response_json: dict[str, object]) -> list[str]:
    error = response_json["error"]
    assert isinstance(error, dict)
    return [f["path"] for f in error["fields"]]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x1f"])
async def test_a_control_character_in_prompt_text_is_a_422_naming_it(api: Api, char: str) -> None:
    body = json.dumps({**T2V, "promptText": f"a fox{char}in the snow"})
    response = await api.post(
        "/v1/generations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_failed"
    assert fields_of(response.json()) == ["promptText"]
    assert f"U+{ord(char):04X}" in response.json()["error"]["message"]
    assert (await api.get("/v1/generations")).json()["data"] == []  # nothing was stored


async def test_tab_line_feed_and_carriage_return_are_text(api: Api) -> None:
    body = {**T2V, "promptText": "a fox\tin the snow\r\nat dusk"}
    response = await api.post("/v1/generations", json=body)
    assert response.status_code == 202, response.text
    stored = (await api.get(f"/v1/generations/{response.json()['id']}")).json()
    assert stored["request"]["promptText"] == body["promptText"]


async def test_a_control_character_in_a_key_is_named_with_it_escaped(api: Api) -> None:
    body = json.dumps({**T2V, "contentModeration": {"public\x00Figure": "low"}})
    response = await api.post(
        "/v1/generations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert fields_of(response.json()) == ["contentModeration.public\\u0000Figure"]


async def test_the_runway_surface_refuses_it_in_runways_shape(api: Api) -> None:
    body = {k: v for k, v in T2V.items() if k != "endpoint"}
    response = await api.post(
        "/runway/v1/text_to_video",
        content=json.dumps({**body, "promptText": "a\x00b"}),
        headers={"Content-Type": "application/json", "X-Runway-Version": "2024-11-06"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("promptText: ")


def form(field: bytes, value: bytes, *, filename: bytes = b"a.png") -> tuple[bytes, str]:
    """A multipart body with one form field (raw bytes) and a small PNG, and its content type."""
    body = (
        b'--vgb\r\nContent-Disposition: form-data; name="'
        + field
        + b'"\r\n\r\n'
        + value
        + b'\r\n--vgb\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: image/png\r\n\r\n'
        + still_image(16, 16)
        + b"\r\n--vgb--\r\n"
    )
    return body, "multipart/form-data; boundary=vgb"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (b"gen4\xff5", "is not UTF-8 text"),
        ("gen4.5\u00e9".encode("latin-1"), "is not UTF-8 text"),  # what latin-1 would misread
        (b"gen4.5\x00", "U+0000"),
        (b"gen4.5\x07", "U+0007"),
    ],
)
async def test_a_form_field_that_is_not_text_is_a_422_naming_it(
    api: Api, value: bytes, said: str
) -> None:
    body, content_type = form(b"model", value)
    response = await api.post("/v1/uploads", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert fields_of(response.json()) == ["model"]
    assert said in response.json()["error"]["message"]


async def test_a_file_name_that_is_not_utf8_is_a_422_naming_file(api: Api) -> None:
    body, content_type = form(b"model", b"gen4.5", filename=b"caf\xe9.png")
    response = await api.post("/v1/uploads", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text
    assert fields_of(response.json()) == ["file"]


async def test_utf8_form_fields_are_read_as_utf8(api: Api) -> None:
    body, content_type = form(b"model", b"gen4.5", filename="caf\u00e9.png".encode())
    response = await api.post("/v1/uploads", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text  # (stored under an ASCII name)
