"""Crafted JSON and multipart bodies against a real ``vidgate serve``: each is a 4xx naming what
is wrong, never a 5xx, no traceback in the server's log, and nothing is created."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import T2V, Served, vidgate_env

from vidgate.api.json_body import MAX_DEPTH

LONE = "\\ud800"  # as the JSON text carries it: an escaped lone surrogate


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    data_dir = tmp_path_factory.mktemp("crafted")
    served = Served(env=vidgate_env(data_dir, VIDGATE_API_RATE_PER_SECOND="0"), cwd=data_dir)
    yield served, data_dir
    served.stop()
    assert "Traceback" not in served.output, served.output


def post_raw(
    client: httpx.Client, path: str, body: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return client.post(path, content=body, headers={"Content-Type": content_type})


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def with_prompt(raw_prompt: str) -> bytes:
    """The T2V body with ``promptText`` replaced by raw JSON text."""
    text = json.dumps({**T2V, "promptText": "@@"})
    return text.replace('"@@"', raw_prompt).encode()


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [f["path"] for f in response.json()["error"]["fields"]]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 800, 5_000, 200_000])
def test_deep_nesting_is_a_422(server: tuple[Served, Path], depth: int) -> None:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        assert fields(post_raw(client, "/v1/generations", with_prompt(nested(depth)))) != []
        objects = '{"a":' * depth + "1" + "}" * depth
        assert fields(post_raw(client, "/v1/estimate", objects.encode())) != []
        assert fields(post_raw(client, "/v1/generations", nested(depth).encode())) != []
        # The SDK surfaces parse any body as JSON, whatever its declared type.
        for path in ("/runway/v1/text_to_video", "/openai/v1/videos"):
            answer = client.post(
                path,
                content=nested(depth).encode(),
                headers={"Content-Type": "text/plain", "X-Runway-Version": "2024-11-06"},
            )
            assert 400 <= answer.status_code < 500, (path, answer.text)


def test_ordinary_nesting_still_works(server: tuple[Served, Path]) -> None:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        estimate = client.post("/v1/estimate", json={"model": "gen4.5", "duration": 5})
        assert estimate.status_code == 200, estimate.text
        ok = post_raw(client, "/v1/estimate", b'{"model": "gen4.5", "duration": 5}')
        assert ok.status_code == 200


def test_lone_surrogates_are_named_wherever_they_are(server: tuple[Served, Path]) -> None:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        prompt = post_raw(client, "/v1/generations", with_prompt(f'"a {LONE} b"'))
        assert fields(prompt) == ["promptText"]
        chain = {**T2V, "endpoint": "chain", "promptTexts": ["@@", "fine"], "duration": 20}
        del chain["promptText"]
        body = json.dumps(chain).replace('"@@"', f'"{LONE}"').encode()
        assert fields(post_raw(client, "/v1/generations", body)) == ["promptTexts[0]"]
        image = {**T2V, "endpoint": "image_to_video", "promptImage": "@@"}
        body = json.dumps(image).replace('"@@"', f'"https://a.example/{LONE}.png"').encode()
        assert fields(post_raw(client, "/v1/generations", body)) == ["promptImage"]
        key = json.dumps({**T2V, "@@": 1}).replace('"@@"', f'"k{LONE}"').encode()
        assert fields(post_raw(client, "/v1/generations", key)) == ["k\\ud800"]
        low = post_raw(client, "/v1/estimate", b'{"model": "\\udfff"}')
        assert fields(low) == ["model"]
        hook = post_raw(client, "/v1/webhook", b'{"url": "https://x.example/\\ud83d"}')
        assert hook.status_code == 405 or fields(hook) == ["url"]
        put = client.put(
            "/v1/webhook",
            content=b'{"url": "https://x.example/\\ud83d"}',
            headers={"Content-Type": "application/json"},
        )
        assert fields(put) == ["url"]
        # A proper pair is one character, not a lone surrogate.
        pair = post_raw(client, "/v1/estimate", b'{"model": "gen4.5", "x": "\\ud83d\\ude00"}')
        assert pair.status_code in (200, 422) and "surrogate" not in pair.text
        assert client.get("/v1/generations").json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(T2V)
        .replace("lighthouse", "light\udcffhouse", 1)
        .encode("utf-8", "surrogatepass"),
        json.dumps(T2V).encode("utf-16"),
        json.dumps(T2V).encode("utf-32"),
        b'{"model": "gen4.5", "promptText": "\xff\xfe"}',
        with_prompt("NaN"),
        with_prompt("-Infinity"),
        with_prompt("1e999"),
        with_prompt("1" * 5000),
        b"\x00" * 64,
        b'{"model": "gen4.5"' + b" " * 100_000,
    ],
    ids=[
        "encoded-surrogate",
        "utf16",
        "utf32",
        "bad-utf8",
        "nan",
        "infinity",
        "overflow",
        "huge-int",
        "nul",
        "unterminated",
    ],
)
def test_bad_text_and_numbers_are_a_422(server: tuple[Served, Path], body: bytes) -> None:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        answer = post_raw(client, "/v1/generations", body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation_failed"


def _multipart(boundary: str, *parts: bytes) -> bytes:
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=" + "b" * 300,
            _multipart(
                "b" * 300,
                b"--" + b"b" * 300 + b'\r\nContent-Disposition: form-data; name="file"; '
                b'filename="a.png"\r\n\r\nxx\r\n',
            ),
        ),
        ("multipart/form-data; boundary=" + "x" * 5000, b"--" + b"x" * 5000 + b"\r\n"),
        ("multipart/form-data; boundary=abc", b"--abc\r\nno-colon-header\r\n\r\nx\r\n--abc--"),
        ("multipart/form-data; boundary=abc", b"garbage before any boundary" * 100),
        (
            "multipart/form-data; boundary=abc",
            b"--abc\r\nContent-Disposition: form-data\r\n\r\nx\r\n--abc--\r\n",
        ),
        (
            "multipart/form-data; boundary=abc",
            b"--abc\r\n" + b"X-Pad: " + b"p" * 20_000 + b"\r\n\r\nx\r\n--abc--\r\n",
        ),
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="model"\r\n\r\n\xff\xfe\r\n--abc--\r\n',
        ),
        ('multipart/form-data; boundary="', b"--\r\n"),
        ("multipart/form-data; boundary=abc; boundary=def", b"--abc--\r\n"),
        ("multipart/mixed; boundary=abc", b"--abc--\r\n"),
        ("application/json", b"{}"),
    ],
    ids=[
        "boundary-300",
        "boundary-5000",
        "bad-header",
        "no-boundary-seen",
        "no-name",
        "huge-header",
        "bad-utf8-field",
        "quote",
        "two-boundaries",
        "mixed",
        "json",
    ],
)
def test_malformed_multipart_is_a_4xx_and_leaves_no_file(
    server: tuple[Served, Path], content_type: str, body: bytes
) -> None:
    served, data_dir = server
    with httpx.Client(base_url=served.url, timeout=60) as client:
        answer = post_raw(client, "/v1/uploads", body, content_type)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.json()["error"]["code"] in ("validation_failed", "media_rejected")
        assert client.get("/v1/uploads").json()["data"] == []
    assert list((data_dir / "tmp").glob("upload-*")) == []
