"""One emulator per data directory, in one process (the acceptance tests run real processes):
the second handle uses the first's emulator, and takes it over, same URL, when the first stops."""

from __future__ import annotations

import time
from pathlib import Path

from runwayml import RunwayML

from vidgate.emulator.shared import SharedEmulator
from vidgate.emulator.testing import wait_for_task
from vidgate.settings import load_settings

API_KEY = "key_" + "0123456789abcdef" * 8


def test_the_second_process_uses_the_first_emulator_and_takes_it_over(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var", emulator_task_seconds=1.0)
    first = SharedEmulator.from_settings(settings).start()
    second = SharedEmulator.from_settings(settings).start()
    try:
        assert first.owner and not second.owner
        assert second.base_url == first.base_url
        assert second.task_timings() == (0.5, 1.5)  # read from the owner's knobs
        with RunwayML(api_key=API_KEY, base_url=second.base_url) as client:
            task = client.text_to_video.create(
                model="gen4.5", prompt_text="a heron", ratio="1280:720", duration=2
            )
            url = first.base_url
            first.stop()
            deadline = time.monotonic() + 30
            while not second.owner:
                assert time.monotonic() < deadline, "the second handle never took over"
                time.sleep(0.05)
            assert second.base_url == url  # same port: URLs handed out before still work
            assert wait_for_task(client, task.id).status == "SUCCEEDED"
    finally:
        second.stop()
        first.stop()
