"""The official Node SDK (@runwayml/sdk 4.20.1, from npm) against the emulator.

The SDK is installed once into .cache/node-sdk (``npm install --prefix``); a small ESM script
(tests/emulator/node/sdk_check.mjs) runs every endpoint, an upload, a failure, a delete and the
organization call, and prints JSON that this test checks, downloading and probing each output.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import download, still_image, video_clip
from vidgate.media.probe import probe_media

NODE_SDK_VERSION = "4.20.1"
ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / ".cache" / "node-sdk"
SCRIPT = Path(__file__).with_name("node") / "sdk_check.mjs"


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    """index.mjs of @runwayml/sdk, installed from npm into the cache dir when missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the Node SDK test (Debian: nodejs, npm)")
    package = SDK_DIR / "node_modules" / "@runwayml" / "sdk"
    manifest = package / "package.json"
    installed = manifest.exists() and json.loads(manifest.read_text())["version"]
    if installed != NODE_SDK_VERSION:
        SDK_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(SDK_DIR),
                "--no-audit",
                "--no-fund",
                f"@runwayml/sdk@{NODE_SDK_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return package / "index.mjs"


def test_node_sdk_runs_every_endpoint_against_the_emulator(
    node_sdk: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    png, clip = tmp_path / "still.b64", tmp_path / "clip.b64"
    png.write_text(base64.b64encode(still_image(320, 240)).decode())
    clip.write_text(base64.b64encode(video_clip(160, 120, 3.0)).decode())

    run = subprocess.run(
        ["node", str(SCRIPT), node_sdk.as_uri(), emulator.base_url, str(png), str(clip)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "EMULATOR_CONTROL_TOKEN": emulator.control_token or ""},
    )
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)

    assert all(uri.startswith("runway://") for uri in out["uploads"])
    assert out["badRequest"]["name"] == "BadRequestError"
    assert out["badRequest"]["status"] == 400
    assert "duration: veo3.1 accepts 4, 6 or 8, got 5" in out["badRequest"]["message"]

    expected = {
        "text_to_video": (720, 1280, 2.0),
        "image_to_video": (960, 960, 2.0),
        "veo": (1280, 720, 4.0),
        "video_to_video": (160, 120, 3.0),
        "character_performance": (320, 240, 3.0),
    }
    for name, (width, height, seconds) in expected.items():
        task = out["tasks"][name]
        assert task.get("status") == "SUCCEEDED", (name, task)
        info = probe_media(download(task["output"][0]))
        assert (info.width, info.height, info.duration_seconds) == (width, height, seconds), name

    assert out["failed"] == {
        "isTaskFailedError": True,
        "message": "The prompt text did not pass content moderation.",
        "failureCode": "SAFETY.INPUT.TEXT",
    }
    assert out["afterDelete"]["name"] == "NotFoundError"
    assert out["organization"]["creditBalance"] < 1_000_000
    assert "gen4.5" in out["organization"]["tier"]["models"]

    stats = emulator.stats()
    assert stats["uploadFiles"] == 2
    assert stats["tasksCreated"]["byEndpoint"] == {
        "text_to_video": 3,
        "image_to_video": 2,
        "video_to_video": 1,
        "character_performance": 1,
    }
