"""Hostile URLs in media fields are refused with a 422 naming the field, and nothing is dialled.

A canary listener on 127.0.0.1 counts every TCP connection it gets; after all the refusals it must
have seen none. Names are resolved by a test resolver (``create_app(resolver=...)``), so
``evil.test`` can point at loopback without touching real DNS. Runs with ingest off (the provider
would fetch) and on (vidgate would fetch).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import ApiFactory, make_settings

from vidgate.emulator.testing import still_image

ALLOWED = ["allowed.test", "evil.test", "mixed.test", "v6evil.test", "mapped.test", "gone.test"]
PUBLIC = "93.184.216.34"
DNS = {
    "allowed.test": [PUBLIC],
    "evil.test": ["127.0.0.1"],
    "mixed.test": [PUBLIC, "127.0.0.1"],
    "v6evil.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
}


async def fake_dns(host: str) -> list[str]:
    try:
        return DNS[host.lower().rstrip(".")]
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "unknown test name") from None


class Canary:
    """Counts the connections the kernel completes on 127.0.0.1:<port>; never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


def hostile_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/a.png",
        f"https://127.0.0.1:{port}/a.png",
        "https://127.0.0.1/a.png",
        "https://2130706433/a.png",
        "https://0x7f000001/a.png",
        "https://0x7f.0.0.1/a.png",
        "https://0177.0.0.1/a.png",
        "https://017700000001/a.png",
        "https://127.1/a.png",
        "https://127.0.1/a.png",
        "https://0/a.png",
        "https://0.0.0.0/a.png",
        "https://[::1]/a.png",
        f"https://[::1]:{port}/a.png",
        "https://[::ffff:127.0.0.1]/a.png",
        "https://[::ffff:7f00:1]/a.png",
        "https://[0:0:0:0:0:ffff:127.0.0.1]/a.png",
        "https://[::127.0.0.1]/a.png",
        "https://[::]/a.png",
        "https://[fe80::1%25lo]/a.png",
        "https://１２７．０．０．１/a.png",
        "https://%31%32%37.0.0.1/a.png",
        "https://localhost/a.png",
        "https://LOCALHOST/a.png",
        "https://localhost./a.png",
        f"https://localhost:{port}/a.png",
        "https://foo.localhost/a.png",
        "https://allowed.test@127.0.0.1/a.png",
        f"https://allowed.test:pw@127.0.0.1:{port}/a.png",
        "https://user:pass@allowed.test/a.png",
        "https://127.0.0.1#@allowed.test/a.png",
        "https://127.0.0.1\\@allowed.test/a.png",
        "https://allowed.test\\@127.0.0.1/a.png",
        "https:/allowed.test/a.png",
        "https:///allowed.test/a.png",
        " https://allowed.test/a.png",
        "https://allowed.test/a.png\n",
        "http://allowed.test/a.png",
        "ftp://allowed.test/a.png",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{port}/_x",
        f"https://allowed.test:{port}/a.png",
        "https://allowed.test/" + "a" * 2100 + ".png",
        "https://not-allowed.example/a.png",
        "https://evil.test/a.png",
        "https://EVIL.test./a.png",
        "https://mixed.test/a.png",
        "https://v6evil.test/a.png",
        "https://mapped.test/a.png",
        "https://gone.test/a.png",
    ]


def i2v(image: Any) -> dict[str, Any]:
    return {
        "endpoint": "image_to_video",
        "model": "gen4.5",
        "promptImage": image,
        "promptText": "x",
        "ratio": "1280:720",
        "duration": 2,
    }


@pytest.mark.parametrize("ingest", [False, True], ids=["provider-fetches", "ingest"])
async def test_hostile_urls_are_refused_before_any_connection(
    api_factory: ApiFactory, tmp_path: Path, canary: Canary, ingest: bool
) -> None:
    settings = make_settings(tmp_path, media_allowed_hosts=",".join(ALLOWED), media_ingest=ingest)
    api = await api_factory(settings, worker=False, resolver=fake_dns)
    for url in hostile_urls(canary.port):
        for body, path in [
            (i2v(url), "promptImage"),
            (i2v([{"uri": url, "position": "first"}]), "promptImage[0].uri"),
        ]:
            response = await api.post("/v1/generations", json=body)
            assert response.status_code == 422, (url, response.text)
            error = response.json()["error"]
            assert [f["path"] for f in error["fields"]] == [path], (url, error)
            assert error["fields"][0]["message"], url
    act_two = {
        "endpoint": "character_performance",
        "model": "act_two",
        "character": {"type": "image", "uri": "https://evil.test/face.png"},
        "reference": {"type": "video", "uri": f"https://127.0.0.1:{canary.port}/v.mp4"},
    }
    response = await api.post("/v1/generations", json=act_two)
    assert response.status_code == 422
    assert {f["path"] for f in response.json()["error"]["fields"]} == {
        "character.uri",
        "reference.uri",
    }
    assert canary.count == 0
    assert (await api.get("/v1/generations")).json()["data"] == []


async def test_the_rule_is_named(api_factory: ApiFactory, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, media_allowed_hosts=",".join(ALLOWED))
    api = await api_factory(settings, worker=False, resolver=fake_dns)

    async def message(url: str) -> str:
        response = await api.post("/v1/generations", json=i2v(url))
        return str(response.json()["error"]["fields"][0]["message"])

    assert "https" in await message("http://allowed.test/a.png")
    assert "IP address" in await message("https://2130706433/a.png")
    assert "local name" in await message("https://localhost/a.png")
    assert "user" in await message("https://user:pass@allowed.test/a.png")
    assert "2048" in await message("https://allowed.test/" + "a" * 2100)
    assert "VIDGATE_MEDIA_ALLOWED_HOSTS" in await message("https://other.example/a.png")
    assert "not a public address" in await message("https://evil.test/a.png")
    assert "port" in await message("https://allowed.test:8443/a.png")


async def test_an_allowed_public_url_is_accepted(api_factory: ApiFactory, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, media_allowed_hosts="allowed.test")
    api = await api_factory(settings, worker=False, resolver=fake_dns)
    response = await api.post("/v1/generations", json=i2v("https://allowed.test/cat.png"))
    assert response.status_code == 202, response.text
    assert response.json()["request"]["promptImage"] == "https://allowed.test/cat.png"


async def test_ingest_replaces_the_url_with_an_upload(
    api_factory: ApiFactory, tmp_path: Path
) -> None:
    png = still_image(1280, 720)
    fetched: list[str] = []

    def media_server(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        if request.url.path == "/cat.png":
            return httpx.Response(
                200, stream=httpx.ByteStream(png), headers={"Content-Type": "image/png"}
            )
        if request.url.path == "/lies.png":  # says PNG, is text
            return httpx.Response(
                200, stream=httpx.ByteStream(b"<html>" * 50), headers={"Content-Type": "image/png"}
            )
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/"})

    settings = make_settings(tmp_path, media_allowed_hosts="allowed.test", media_ingest=True)
    api = await api_factory(
        settings,
        resolver=fake_dns,
        media_client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(media_server)),
    )
    headers = {"Idempotency-Key": "ingest-1"}
    body = i2v("https://allowed.test/cat.png")
    response = await api.post("/v1/generations", json=body, headers=headers)
    assert response.status_code == 202, response.text
    job = response.json()
    uri = job["request"]["promptImage"]
    assert uri.startswith("runway://")
    [upload] = (await api.get("/v1/uploads")).json()["data"]
    assert upload["uri"] == uri and upload["kind"] == "image"

    again = await api.post("/v1/generations", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == job["id"]  # same job, not a 409
    assert fetched == ["https://allowed.test/cat.png"]  # the retry reused the first fetch

    assert (await api.wait_done(job["id"]))["status"] == "succeeded"

    lies = await api.post("/v1/generations", json=i2v("https://allowed.test/lies.png"))
    assert lies.status_code == 422
    assert lies.json()["error"]["fields"][0]["path"] == "promptImage"
    moved = await api.post("/v1/generations", json=i2v("https://allowed.test/moved.png"))
    assert moved.status_code == 422
    assert "redirect" in moved.json()["error"]["fields"][0]["message"]
    assert len((await api.get("/v1/uploads")).json()["data"]) == 1
