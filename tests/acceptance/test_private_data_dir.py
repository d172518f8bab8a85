"""The data directory is ``vidgate serve``'s alone (docs/deploy.md, "Files and secrets"): made
0700 with every file in it 0600 (databases and their -wal/-shm, the emulator's state, stored
outputs, secrets), whatever the umask it was started under; one found open is closed and the
log names what was changed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
from serving import T2V, Served, vidgate_env

from vidgate.emulator.testing import still_image


def open_entries(root: Path) -> dict[str, str]:
    """Every directory and file under ``root`` (``root`` too) that group or others may use."""
    found = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            found[str(path.relative_to(root.parent))] = oct(stat.S_IMODE(info.st_mode))
    return found


def test_a_fresh_data_directory_is_private(tmp_path: Path, serve: type[Served]) -> None:
    var = tmp_path / "var"
    before = os.umask(0o022)  # the usual umask, which the process inherits: files 0644
    try:
        server = serve(env=vidgate_env(var))
    finally:
        os.umask(before)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        job = client.post("/v1/generations", params={"wait": 60}, json=T2V).json()
        assert job["status"] == "succeeded", job
        assert client.get(f"/v1/generations/{job['id']}/video").status_code == 200
        upload = client.post("/v1/uploads", files={"file": ("a.png", still_image(64, 64))})
        assert upload.status_code == 201, upload.text
        assert client.post("/v1/webhook/secret").status_code == 201
        running = open_entries(var)  # with the databases open (-wal, -shm)
    names = {p.name for p in var.rglob("*")}
    expected = {"vidgate.db", "vidgate.db-wal", "link-secret", "secrets-key", "state.db"}
    assert expected <= names, names
    assert any(p.suffix == ".mp4" for p in (var / "media").rglob("*"))
    server.stop()
    assert running == {} and open_entries(var) == {}
    assert "open to other users" not in server.output


def test_an_open_data_directory_is_closed_and_the_log_says_so(
    tmp_path: Path, serve: type[Served]
) -> None:
    var = tmp_path / "var"
    (var / "media").mkdir(parents=True)
    (var / "notes.txt").write_text("left here by hand")
    os.chmod(var, 0o755)
    os.chmod(var / "media", 0o777)
    os.chmod(var / "notes.txt", 0o644)
    server = serve(env=vidgate_env(var))
    server.stop()
    assert open_entries(var) == {}
    log = server.output
    assert f"{var} was open to other users (mode 0755): made it 0700" in log
    assert f"{var / 'media'} was open to other users (mode 0777): made it 0700" in log
    assert f"{var / 'notes.txt'} was open to other users (mode 0644): made it 0600" in log
