"""The seed documents' own routes, unchanged, against vidgate: only the base URL differs.

Each seed runs as a real server process whose environment has nothing but
``RUNWAYML_BASE_URL=http://127.0.0.1:PORT/runway`` and ``RUNWAYML_API_SECRET`` (a vidgate key)
beside the OS basics: the FastAPI route (Python sync SDK), the Express route with its
``assertTrustedMediaUrl`` (Node SDK from npm) and the upload-then-image-to-video snippet (Node).
Behind vidgate (``vidgate serve`` as a process) the emulator plays Runway, with signed output URLs
that live 2 s, so each answer is shown to still serve its MP4 after the provider's URL is dead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import runwayml
from dropping_relay import DroppingRelay
from serving import Served, run_vidgate, vidgate_env

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import still_image
from vidgate.media.probe import probe_media

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).with_name("dropin_seeds")
NODE_CHECKS = Path(__file__).with_name("dropin_node")
NODE_DIR = ROOT / ".cache" / "dropin-node"
NODE_PACKAGES = ("@runwayml/sdk@4.20.1", "express@5.1.0")
OUTPUT_TTL_SECONDS = 2.0


@dataclass
class Stack:
    emulator: EmulatorServer
    vidgate: Served
    token: str

    @property
    def runway_base(self) -> str:
        return f"{self.vidgate.url}/runway"

    def upstream_tasks(self) -> int:
        return int(self.emulator.stats()["tasksCreated"]["total"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = EmulatorConfig(
        task_seconds=1.0, pending_seconds=0.1, output_ttl_seconds=OUTPUT_TTL_SECONDS
    )
    data = tmp_path_factory.mktemp("vidgate")
    with EmulatorServer(config) as emulator:
        env = vidgate_env(
            data,
            RUNWAYML_API_SECRET="key_" + "ab" * 64,
            RUNWAYML_BASE_URL=emulator.base_url,
        )
        created = run_vidgate("keys", "create", "--name", "seeds", env=env, cwd=data)
        token = re.search(r"token: (vg_\S+)", created.stdout)
        assert token is not None, created.stdout + created.stderr
        server = Served(env=env, cwd=data)
        try:
            yield Stack(emulator, server, token.group(1))
        finally:
            server.stop()


class SeedProcess:
    """A seed's server (or script) as a process with only the two Runway variables set."""

    def __init__(self, args: list[str], *, cwd: Path, base_url: str, secret: str) -> None:
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        env.update(RUNWAYML_BASE_URL=base_url, RUNWAYML_API_SECRET=secret)
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            found = re.search(r"(?:running on|listening on) (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
                self._ready.set()
        self._ready.set()

    def wait_listening(self) -> str:
        if not self._ready.wait(60) or not self.url:
            self.stop()
            raise AssertionError("the seed did not start:\n" + "".join(self.lines))
        return self.url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def fastapi_seed(base_url: str, secret: str) -> SeedProcess:
    args = [sys.executable, "-m", "uvicorn", "fastapi_route:app", "--port", "0"]
    return SeedProcess(args, cwd=SEEDS, base_url=base_url, secret=secret)


@pytest.fixture(scope="module")
def node_dir() -> Path:
    """A directory with the Node SDK and Express from npm, and the seeds' scripts beside them."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the Node seeds (Debian: nodejs, npm)")
    stamp = NODE_DIR / "installed.txt"
    if not stamp.exists() or stamp.read_text() != " ".join(NODE_PACKAGES):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(NODE_DIR),
                "--no-audit",
                "--no-fund",
                *NODE_PACKAGES,
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        stamp.write_text(" ".join(NODE_PACKAGES))
    # ES modules find packages from their own path: the scripts run from beside node_modules.
    for script in [*SEEDS.glob("*.mjs"), *NODE_CHECKS.glob("*.mjs")]:
        shutil.copy(script, NODE_DIR / script.name)
    return NODE_DIR


def check_video(base: str, url: str, tmp_path: Path, size: tuple[int, int], seconds: float) -> None:
    """``url`` is vidgate's (on ``base``, the host the SDK called), needs no key, and serves an
    MP4 of this size and length."""
    assert url.startswith(f"{base}/files/"), url
    with httpx.Client(timeout=30) as plain:
        response = plain.get(url)
        part = plain.get(url, headers={"Range": "bytes=0-1023"})
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    assert part.status_code == 206 and len(part.content) == 1024
    path = tmp_path / "answer.mp4"
    path.write_bytes(response.content)
    info = probe_media(path)
    assert (info.width, info.height, info.duration_seconds) == (*size, seconds)


def provider_url_of_newest_task(stack: Stack) -> str:
    with httpx.Client(timeout=10) as plain:
        tasks = plain.get(
            f"{stack.emulator.base_url}/_emulator/tasks", headers=stack.emulator.control_headers
        ).json()
        newest = max(tasks, key=lambda t: t["createdAt"])
        task = plain.get(
            f"{stack.emulator.base_url}/v1/tasks/{newest['id']}",
            headers={"Authorization": "Bearer x", "X-Runway-Version": "2024-11-06"},
        ).json()
    url: str = task["output"][0]
    return url


def wait_until_refused(url: str) -> int:
    """Ask for the provider's URL until it is refused (its TTL is short); the status it gave."""
    with httpx.Client(timeout=10) as plain:
        for _ in range(200):
            status = plain.head(url).status_code
            if status != 200:
                return status
            threading.Event().wait(0.05)
    raise AssertionError(f"the provider's URL never expired: {url}")


def test_fastapi_seed_answers_a_lasting_vidgate_url(stack: Stack, tmp_path: Path) -> None:
    seed = fastapi_seed(stack.runway_base, stack.token)
    try:
        url = seed.wait_listening()
        with httpx.Client(base_url=url, timeout=120) as browser:
            answer = browser.post(
                "/api/generate-video", json={"prompt": "a golden retriever in wildflowers"}
            )
        assert answer.status_code == 200, answer.text + "".join(seed.lines)
        video_url = answer.json()["video_url"]
        provider_url = provider_url_of_newest_task(stack)
        assert wait_until_refused(provider_url) == 403  # the provider's link is dead...
        check_video(
            stack.vidgate.url, video_url, tmp_path, (1280, 720), 5.0
        )  # ...vidgate's still serves
    finally:
        seed.stop()


def test_a_hostile_url_forwarded_raw_is_refused_by_vidgate(stack: Stack) -> None:
    before = stack.upstream_tasks()
    hostile = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    seed = fastapi_seed(stack.runway_base, stack.token)
    try:
        url = seed.wait_listening()
        with httpx.Client(base_url=url, timeout=120) as browser:
            answer = browser.post(
                "/api/generate-video", json={"prompt": "steal", "image_url": hostile}
            )
    finally:
        seed.stop()
    # The seed turns every exception into a 500 with its text: the SDK's BadRequestError's.
    assert answer.status_code == 500
    assert answer.json()["detail"].startswith("Error code: 400")
    assert "promptImage" in answer.json()["detail"]
    # The same call the route makes, in this process, raises the SDK's own class.
    with (
        runwayml.RunwayML(api_key=stack.token, base_url=stack.runway_base) as client,
        pytest.raises(runwayml.BadRequestError, match="promptImage"),
    ):
        client.image_to_video.create(
            model="gen4.5", prompt_image=hostile, prompt_text="x", ratio="1280:720", duration=5
        )
    assert stack.upstream_tasks() == before  # nothing reached the provider, nothing was fetched


def test_a_dropped_create_is_retried_by_the_sdk_and_paid_once(stack: Stack, tmp_path: Path) -> None:
    port = int(stack.vidgate.url.rsplit(":", 1)[1])
    with DroppingRelay(port, drop=b"POST /runway/v1/text_to_video") as relay:
        before = stack.upstream_tasks()
        seed = fastapi_seed(f"http://127.0.0.1:{relay.port}/runway", stack.token)
        try:
            url = seed.wait_listening()
            with httpx.Client(base_url=url, timeout=120) as browser:
                answer = browser.post(
                    "/api/generate-video", json={"prompt": "one paid task", "duration": 3}
                )
        finally:
            seed.stop()
        assert answer.status_code == 200, answer.text + "".join(seed.lines)
        assert len(relay.dropped) == 1  # the first create's answer was lost...
        creates = [r for r in relay.requests if r.startswith(b"POST /runway/v1/text_to_video")]
        assert len(creates) == 2 and b"x-stainless-retry-count: 1" in creates[1].lower()
        assert stack.upstream_tasks() == before + 1  # ...and the SDK's retry did not pay twice
        # The link names the host the SDK called (here the relay, still up).
        relay_base = f"http://127.0.0.1:{relay.port}"
        check_video(relay_base, answer.json()["video_url"], tmp_path, (1280, 720), 3.0)


def node_seed(stack: Stack, node_dir: Path, script: str, *args: str) -> SeedProcess:
    return SeedProcess(
        ["node", str(node_dir / script), *args],
        cwd=node_dir,
        base_url=stack.runway_base,
        secret=stack.token,
    )


def test_express_seed_with_its_url_check(stack: Stack, node_dir: Path, tmp_path: Path) -> None:
    seed = node_seed(stack, node_dir, "express_route.mjs")
    try:
        url = seed.wait_listening()
        with httpx.Client(base_url=url, timeout=120) as browser:
            made = browser.post("/api/generate-video", json={"prompt": "a lighthouse at dusk"})
            untrusted = browser.post(
                "/api/generate-video",
                json={"prompt": "x", "imageUrl": "https://evil.example.net/a.jpg"},
            )
    finally:
        seed.stop()
    assert made.status_code == 200, made.text + "".join(seed.lines)
    check_video(stack.vidgate.url, made.json()["videoUrl"], tmp_path, (1280, 720), 5.0)
    assert untrusted.status_code == 400 and untrusted.json() == {"error": "untrusted media host"}


def test_upload_then_image_to_video_snippet(stack: Stack, node_dir: Path, tmp_path: Path) -> None:
    image = tmp_path / "image.jpg"
    image.write_bytes(still_image(1280, 720, fmt="JPEG"))
    run = node_seed(stack, node_dir, "upload_then_image_to_video.mjs", str(image))
    run.process.wait(timeout=120)
    output = "".join(run.lines)
    assert run.process.returncode == 0, output
    answer: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    assert answer["uri"].startswith("runway://")
    check_video(stack.vidgate.url, answer["videoUrl"], tmp_path, (1280, 720), 5.0)


def test_the_node_sdk_raises_its_own_classes(stack: Stack, node_dir: Path) -> None:
    run = node_seed(stack, node_dir, "error_classes.mjs")
    run.process.wait(timeout=120)
    output = "".join(run.lines)
    assert run.process.returncode == 0, output
    found = json.loads(output.strip().splitlines()[-1])
    assert found["badRequest"]["name"] == "BadRequestError"
    assert "duration" in found["badRequest"]["message"]
    assert found["notFound"]["name"] == "NotFoundError"
    assert found["unauthorized"]["name"] == "AuthenticationError"
