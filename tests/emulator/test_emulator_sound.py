"""Outputs have sound exactly when the real model would make it, and are faststart MP4s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runwayml import RunwayML

from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import download, wait_for_task
from vidgate.media.mp4_layout import is_faststart
from vidgate.media.probe import probe_media


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
