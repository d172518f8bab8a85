"""A lone surrogate anywhere the validators look is a 422 naming the field, never a 500.

The body is sent as raw JSON text with a ``\\ud800`` escape, which JSON allows and which parses
to a Python string no UTF-8 encoder takes. (A top-level key is refused by the body parser before
the validators; tests/unit/test_requests_text.py covers the validators alone.)
"""

from __future__ import annotations

import json

import pytest
from api_helpers import Api

LONE = "\\ud800"

T2V = '{"endpoint": "text_to_video", "model": "gen4.5", "ratio": "1280:720", "duration": 5'


def raw_body(extra: str) -> bytes:
    return (T2V + ", " + extra + "}").encode()


CASES = [
    pytest.param(f'"promptText": "a fox {LONE}"', "promptText", id="prompt-text"),
    pytest.param(
        '"promptText": "a fox", "contentModeration": {"' + LONE + '": "low"}',
        "contentModeration.\\ud800",
        id="object-key",
    ),
]


@pytest.mark.parametrize(("extra", "path"), CASES)
async def test_generation_fields(api: Api, extra: str, path: str) -> None:
    response = await api.post(
        "/v1/generations", content=raw_body(extra), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    paths = [f["path"] for f in response.json()["error"]["fields"]]
    assert path in paths, paths


@pytest.mark.parametrize(
    "uri",
    [
        f"https://cdn.example.com/a{LONE}.png",
        f"https://cdn{LONE}.example.com/a.png",
        f"runway://upload{LONE}",
        f"data:image/png;base64,{LONE}",
    ],
)
async def test_media_urls(api: Api, uri: str) -> None:
    body = (
        '{"endpoint": "image_to_video", "model": "gen4_turbo", "ratio": "1280:720", '
        f'"promptImage": "{uri}"' + "}"
    ).encode()
    response = await api.post(
        "/v1/generations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["promptImage"]


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        (f'"promptText": "a fox {LONE}"', "promptText"),
        (f'"promptTexts": ["a fox", "a fox {LONE}"]', "promptTexts[1]"),
        (f'"promptText": "a fox", "promptImage": "runway://a{LONE}"', "promptImage"),
    ],
)
async def test_chain_prompts(api: Api, extra: str, path: str) -> None:
    body = (
        '{"endpoint": "chain", "model": "gen4.5", "ratio": "1280:720", "duration": 20, '
        + extra
        + "}"
    ).encode()
    response = await api.post(
        "/v1/generations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    paths = [f["path"] for f in response.json()["error"]["fields"]]
    assert path in paths, paths
    json.dumps(response.json())
