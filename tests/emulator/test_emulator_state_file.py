"""An emulator with a state file picks up where the last one stopped (docs/emulator.md).

A RUNNING task goes on to its end in the next emulator (its output rendered there), an upload's
``runway://`` URI still resolves, the balance and the ledger carry over, and a reset empties it.
"""

from __future__ import annotations

import base64
from pathlib import Path

from runwayml import RunwayML

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.testing import download, still_image, wait_for_task

API_KEY = "key_" + "0123456789abcdef" * 8


def config(tmp_path: Path) -> EmulatorConfig:
    return EmulatorConfig(
        task_seconds=1.0,
        pending_seconds=0,
        state_file=tmp_path / "state.db",
        output_dir=tmp_path / "outputs",
    )


def test_tasks_uploads_and_credits_survive_a_new_emulator(tmp_path: Path) -> None:
    with (
        EmulatorServer(config(tmp_path)) as first,
        RunwayML(api_key=API_KEY, base_url=first.base_url) as client,
    ):
        uri = client.uploads.create_ephemeral(file=("frame.png", still_image(320, 180))).uri
        task = client.text_to_video.create(
            model="gen4.5", prompt_text="a comet", ratio="1280:720", duration=2
        )
        assert client.tasks.retrieve(task.id).status in ("PENDING", "RUNNING")
        balance = client.organization.retrieve().credit_balance
    with (
        EmulatorServer(config(tmp_path)) as second,
        RunwayML(api_key=API_KEY, base_url=second.base_url) as client,
    ):
        assert [t["id"] for t in second.tasks()] == [task.id]
        done = wait_for_task(client, task.id)
        assert done.status == "SUCCEEDED" and done.output
        assert download(done.output[0])[4:8] == b"ftyp"
        # Charged before, settled here: the whole estimate, nothing handed back twice.
        assert balance < EmulatorConfig().credit_balance
        assert client.organization.retrieve().credit_balance == balance
        again = client.image_to_video.create(
            model="gen4.5", prompt_image=uri, prompt_text="it moves", ratio="1280:720", duration=2
        )
        assert wait_for_task(client, again.id).status == "SUCCEEDED"
        second.reset()
    with EmulatorServer(config(tmp_path)) as third:
        assert third.tasks() == []


def test_uploaded_files_are_kept_on_disk_not_in_the_state_file(tmp_path: Path) -> None:
    picture = still_image(1920, 1080)
    with (
        EmulatorServer(config(tmp_path)) as emulator,
        RunwayML(api_key=API_KEY, base_url=emulator.base_url) as client,
    ):
        uri = client.uploads.create_ephemeral(file=("frame.png", picture)).uri
        stored = tmp_path / "outputs" / "uploads" / uri.rsplit("/", 1)[-1]
        assert stored.read_bytes() == picture
        state = (tmp_path / "state.db").read_bytes() + (tmp_path / "state.db-wal").read_bytes()
        for stretch in (picture[100:200], base64.b64encode(picture)[100:200]):
            assert stretch not in state
        emulator.reset()
        assert not stored.exists()
