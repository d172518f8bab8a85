"""Every validation path is safe for any string: a lone surrogate is one problem naming its field,
and every problem can be encoded (so the API can send it)."""

from __future__ import annotations

from typing import Any

import pytest

from vidgate.catalog import get_catalog
from vidgate.errors import FieldProblem, MediaRejected, ValidationFailed
from vidgate.media.url_check import (
    check_data_uri,
    check_https_url,
    check_media_url,
    media_uri_problem,
)
from vidgate.requests.chain_plan import validate_chain
from vidgate.requests.generation import validate_request

LONE = "\ud800"
T2V: dict[str, Any] = {"model": "gen4.5", "ratio": "1280:720", "duration": 5, "promptText": "a"}
I2V: dict[str, Any] = {"model": "gen4_turbo", "ratio": "1280:720"}


def problems(endpoint: str, raw: dict[str, Any]) -> list[FieldProblem]:
    with pytest.raises(ValidationFailed) as caught:
        validate_request(endpoint, raw)
    for problem in caught.value.problems:
        (problem.path + problem.message).encode("utf-8")  # sendable as it is
    return caught.value.problems


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({**T2V, "promptText": f"a fox {LONE}"}, "promptText"),
        ({**T2V, "ratio": LONE}, "ratio"),
        ({**T2V, LONE: 1}, "\\ud800"),
        ({**T2V, "contentModeration": {LONE: "low"}}, "contentModeration.\\ud800"),
        (
            {**T2V, "contentModeration": {"publicFigureThreshold": LONE}},
            "contentModeration.publicFigureThreshold",
        ),
        ({**T2V, "model": LONE}, "model"),
    ],
)
def test_text_fields(raw: dict[str, Any], path: str) -> None:
    assert path in [p.path for p in problems("text_to_video", raw)]


@pytest.mark.parametrize(
    ("image", "path"),
    [
        (f"https://cdn.example.com/{LONE}.png", "promptImage"),
        (f"https://{LONE}.example.com/a.png", "promptImage"),
        (f"runway://{LONE}", "promptImage"),
        (f"data:image/png;base64,{LONE}", "promptImage"),
        (f"data:image/{LONE};base64,AAAA", "promptImage"),
        ([{"uri": f"https://cdn.example.com/{LONE}", "position": "first"}], "promptImage[0].uri"),
        ([{"uri": "runway://a", "position": LONE}], "promptImage[0].position"),
    ],
)
def test_media_fields(image: Any, path: str) -> None:
    assert [p.path for p in problems("image_to_video", {**I2V, "promptImage": image})] == [path]


@pytest.mark.parametrize(
    "url",
    [
        f"https://cdn.example.com/{LONE}",
        f"https://{LONE}.example.com/",
        f"https://xn--{LONE}.example.com/",
        f"runway://{LONE}",
        f"data:image/png;base64,{LONE}",
        f"data:{LONE}/png;base64,AAAA",
        LONE,
    ],
)
def test_url_checks(url: str) -> None:
    catalog = get_catalog()
    assert media_uri_problem(url, "image", catalog)
    for check in (
        lambda: check_media_url(url, field="f", allowed_hosts=["cdn.example.com"], kind="image"),
        lambda: check_https_url(url, field="f"),
        lambda: check_data_uri(url, field="f", kind="image"),
    ):
        with pytest.raises(MediaRejected) as caught:
            check()
        assert [p.path for p in caught.value.problems] == ["f"]
        caught.value.problems[0].message.encode("utf-8")


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"promptText": f"a fox {LONE}"}, "promptText"),
        ({"promptTexts": ["a fox", f"a fox {LONE}"]}, "promptTexts[1]"),
        ({"promptText": "a fox", "promptImage": f"runway://{LONE}"}, "promptImage"),
        ({"promptText": "a fox", "ratio": LONE}, "ratio"),
    ],
)
def test_chain_fields(extra: dict[str, Any], path: str) -> None:
    raw = {"model": "gen4.5", "ratio": "1280:720", "duration": 20, **extra}
    with pytest.raises(ValidationFailed) as caught:
        validate_chain(raw)
    found = caught.value.problems
    for problem in found:
        (problem.path + problem.message).encode("utf-8")
    assert path in [p.path for p in found]
