"""Local files are vidgate's own (storage/private.py): made private whatever the umask, and what
is found open is closed where this user may; the secrets key is one such file."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidgate.errors import ConfigurationError
from vidgate.settings import load_settings
from vidgate.storage.private import (
    make_private,
    open_private,
    private_directory,
    private_file,
    read_or_make_secret,
)
from vidgate.webhooks.sealing import SECRETS_KEY_FILE, SecretSealer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (0022), under which files are made readable by everyone."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def test_files_are_made_private_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    home = private_directory(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == mode(home) == 0o700
    database = private_file(home / "vidgate.db")
    assert mode(database) == 0o600
    with sqlite3.connect(database) as db:  # SQLite's -wal and -shm take the file's mode
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        assert {p.name: mode(p) for p in home.iterdir()} == {
            "vidgate.db": 0o600,
            "vidgate.db-wal": 0o600,
            "vidgate.db-shm": 0o600,
        }
    with open_private(home / "owner.lock") as lock:
        lock.write(b"")
    assert mode(home / "owner.lock") == 0o600
    secret = read_or_make_secret(home / "link-secret", lambda: "s3cret")
    assert secret == "s3cret" == read_or_make_secret(home / "link-secret", lambda: "other")
    assert mode(home / "link-secret") == 0o600


def test_what_is_found_open_is_made_private_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "var"
    (root / "media" / "outputs").mkdir(parents=True)
    (root / "media" / "outputs" / "j.mp4").write_bytes(b"x")
    (root / "vidgate.db").write_bytes(b"")
    (root / "closed").write_bytes(b"")
    os.chmod(root, 0o755)
    os.chmod(root / "media", 0o775)
    os.chmod(root / "media" / "outputs" / "j.mp4", 0o644)
    os.chmod(root / "vidgate.db", 0o666)
    os.chmod(root / "closed", 0o600)
    os.chmod(root / "media" / "outputs", 0o711)
    (root / "link").symlink_to("/etc/passwd")  # never followed
    found = make_private(root)
    assert {e.path.relative_to(tmp_path): (e.was, e.now) for e in found} == {
        Path("var"): (0o755, 0o700),
        Path("var/media"): (0o775, 0o700),
        Path("var/media/outputs"): (0o711, 0o700),
        Path("var/media/outputs/j.mp4"): (0o644, 0o600),
        Path("var/vidgate.db"): (0o666, 0o600),
    }
    assert all(entry.changed for entry in found)
    assert mode(Path("/etc/passwd")) & 0o044  # the link's target was left alone
    assert make_private(root) == []  # nothing left open
    assert all(not mode(p) & 0o077 for p in root.rglob("*") if not p.is_symlink())


def test_the_secrets_key_is_made_once_and_kept_private(tmp_path: Path, open_umask: None) -> None:
    settings = load_settings(data_dir=tmp_path / "var")
    sealer = SecretSealer.from_settings(settings)
    key_file = tmp_path / "var" / SECRETS_KEY_FILE
    assert mode(key_file) == 0o600 and mode(tmp_path / "var") == 0o700
    assert len(base64.b64decode(key_file.read_text())) == 32
    sealed = sealer.seal("whsec_abc")
    assert SecretSealer.from_settings(settings).open(sealed) == "whsec_abc"  # the same key again
    key_file.write_text("not a key")
    with pytest.raises(ConfigurationError, match=SECRETS_KEY_FILE):
        SecretSealer.from_settings(settings)


def test_the_setting_wins_over_the_file_and_may_hold_several_keys(tmp_path: Path) -> None:
    old, new = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    sealed = SecretSealer.from_settings(load_settings(data_dir=tmp_path, secrets_key=old)).seal("s")
    both = SecretSealer.from_settings(load_settings(data_dir=tmp_path, secrets_key=f"{new},{old}"))
    assert both.open(sealed) == "s"
    assert both.resealed(sealed) is not None and both.resealed(both.seal("s")) is None
    assert not (tmp_path / SECRETS_KEY_FILE).exists()
    with pytest.raises(ConfigurationError, match="VIDGATE_SECRETS_KEY"):
        load_settings(secrets_key="too short")
