"""Outputs have sound exactly when the real model would make it, and are faststart MP4s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runwayml import RunwayML

from vidgate.emulator.content_credentials import ISSUER
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import download, wait_for_task
from vidgate.media.mp4_layout import is_faststart
from vidgate.media.probe import probe_media
from vidgate.media.provenance import manifest_json, read_provenance


def _render(client: RunwayML, tmp_path: Path, **body: Any) -> Path:
    task = client.text_to_video.create(prompt_text="Waves on a pebble beach", **body)
    done = wait_for_task(client, task.id)
    assert done.status == "SUCCEEDED", done
    assert done.output
    path = tmp_path / f"{task.id}.mp4"
    path.write_bytes(download(done.output[0]))
    return path


@pytest.mark.parametrize(
    ("body", "sound"),
    [
        ({"model": "veo3.1", "ratio": "1280:720", "duration": 4, "audio": True}, True),
        ({"model": "veo3.1", "ratio": "1280:720", "duration": 4, "audio": False}, False),
        ({"model": "veo3.1", "ratio": "1280:720", "duration": 4}, False),  # no stated default
        ({"model": "seedance2_5", "duration": 4}, True),  # the SDK: "Defaults to `true`"
        ({"model": "seedance2_5", "duration": 4, "audio": False}, False),
        ({"model": "gen4.5", "ratio": "1280:720", "duration": 2}, False),  # takes no audio
    ],
    ids=["veo-on", "veo-off", "veo-default", "seedance-default", "seedance-off", "gen4.5"],
)
def test_sound_follows_the_request_and_the_model_default(
    client: RunwayML, emulator: EmulatorServer, tmp_path: Path, body: dict[str, Any], sound: bool
) -> None:
    path = _render(client, tmp_path, **body)
    info = probe_media(path)
    assert is_faststart(path)
    assert info.duration_seconds is not None and info.frame_rate is not None
    if not sound:
        assert info.audio_codec is None
        return
    assert (info.audio_codec, info.audio_channels, info.audio_sample_rate) == ("aac", 2, 48_000)
    assert info.audio_duration_seconds == pytest.approx(
        info.duration_seconds, abs=1 / info.frame_rate
    )


def test_every_output_carries_content_credentials_naming_the_model(
    client: RunwayML, emulator: EmulatorServer, tmp_path: Path
) -> None:
    path = _render(client, tmp_path, model="veo3.1", ratio="1280:720", duration=4, audio=True)
    report = read_provenance(path)
    assert report.present and report.valid and report.ai_generated, report
    assert report.issuer == ISSUER
    assert "c2pa.actions.v2" in report.assertions
    assert is_faststart(path)  # the manifest box goes in front; the index stays before the data
    assert '"name": "veo3.1"' in manifest_json(path)
    # The signature binds the bytes: one flipped byte in the media data is caught.
    damaged = bytearray(path.read_bytes())
    damaged[-200] ^= 0xFF
    (tmp_path / "damaged.mp4").write_bytes(damaged)
    broken = read_provenance(tmp_path / "damaged.mp4")
    assert broken.present and not broken.valid
