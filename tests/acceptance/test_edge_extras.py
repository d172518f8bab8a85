"""Smaller edge points against a real ``vidgate serve``: security headers on every answer, HEAD on
a video and its poster, strict numbers in ``/v1/estimate``, orphan temporary files removed when the
server starts."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import T2V, Served, vidgate_env

from vidgate.storage import ORPHAN_AGE

SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _leftover(path: Path, *, age_seconds: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    data_dir = tmp_path_factory.mktemp("extras")
    old = ORPHAN_AGE.total_seconds() * 2
    # What a kill -9 during an upload and during a download leaves, and a live upload's file.
    _leftover(data_dir / "tmp" / "upload-killed.part", age_seconds=old)
    _leftover(data_dir / "media" / "tmp" / "0b5e-killed-download", age_seconds=old)
    _leftover(data_dir / "tmp" / "upload-live.part", age_seconds=1)
    served = Served(
        env=vidgate_env(data_dir, task_seconds=0.3, VIDGATE_API_RATE_PER_SECOND="0"), cwd=data_dir
    )
    yield served, data_dir
    served.stop()


def test_orphan_temporary_files_are_removed_at_start(server: tuple[Served, Path]) -> None:
    _, data_dir = server
    assert not (data_dir / "tmp" / "upload-killed.part").exists()
    assert not (data_dir / "media" / "tmp" / "0b5e-killed-download").exists()
    assert (data_dir / "tmp" / "upload-live.part").exists()  # young: a writer may own it


def _finished_job(client: httpx.Client) -> dict[str, object]:
    job = client.post("/v1/generations", json=T2V).json()
    deadline = time.monotonic() + 60
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        job = client.get(f"/v1/generations/{job['id']}", params={"wait": 10}).json()
    assert job["status"] == "succeeded", job
    return job


def test_security_headers_and_head_on_video_and_poster(server: tuple[Served, Path]) -> None:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        job = _finished_job(client)
        links = job["links"]
        assert isinstance(links, dict)
        answers = [
            client.get("/healthz"),
            client.get("/v1/generations"),
            client.get("/v1/nothing-here"),
            client.post("/v1/estimate", json={"model": 5}),
            client.get("/openapi.json"),
            client.get(links["video"]),
            client.get("/"),
        ]
        for answer in answers:
            for name, value in SECURITY.items():
                assert answer.headers.get(name) == value, (answer.request.url, name)
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        page = answers[-1]
        assert "default-src" in page.headers["content-security-policy"]  # the page's own CSP
        for which, kind in (("video", "video/mp4"), ("poster", "image/jpeg")):
            whole = client.get(links[which])
            head = client.head(links[which])
            assert head.status_code == 200, (which, head.text)
            assert head.headers["content-type"] == kind
            assert int(head.headers["content-length"]) == len(whole.content) > 0
            assert head.content == b""
            assert head.headers["x-content-type-options"] == "nosniff"
        missing = client.head("/v1/generations/01J000000000000000000000000/video")
        assert missing.status_code == 404


@pytest.mark.parametrize("duration", [True, False, "5", "5.0", [5], {"s": 5}])
def test_estimate_takes_only_numbers(server: tuple[Served, Path], duration: object) -> None:
    with httpx.Client(base_url=server[0].url, timeout=60) as client:
        answer = client.post("/v1/estimate", json={"model": "gen4.5", "duration": duration})
        assert answer.status_code == 422, answer.text
        assert [f["path"] for f in answer.json()["error"]["fields"]] == ["duration"]
        assert (
            client.post("/v1/estimate", json={"model": "gen4.5", "duration": 5}).status_code == 200
        )
        assert (
            client.post("/v1/estimate", json={"model": "gen4.5", "duration": 5.5}).status_code
            == 200
        )
