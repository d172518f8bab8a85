"""The emulator's state kept in a SQLite file, so that its tasks and uploads outlive a process.

In emulator mode every vidgate process on a data directory shares one emulator
(:mod:`vidgate.emulator.shared`); when the process running it stops, another takes over and reads
the state back from ``DATA_DIR/emulator/state.db``: a task that was RUNNING goes on running to
its due time, its output is rendered again if the render was cut short, and a ``runway://`` URI
handed out before still resolves. Only the running emulator writes the file, one transaction per
change, so a ``kill -9`` loses nothing that was answered.

Clock readings are stored as wall-clock time (UNIX seconds) and mapped onto the reading process's
clock, which is what lets a task's timeline continue across processes. The signing secret is kept
too: output URLs and upload forms signed before a takeover stay valid after it.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vidgate.emulator.clock import Clock
from vidgate.emulator.organization import Organization
from vidgate.emulator.tasks import Task
from vidgate.emulator.uploads import Upload
from vidgate.storage.private import private_file

__all__ = ["SavedState", "StateFile"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, record TEXT NOT NULL);
"""


@dataclass
class SavedState:
    """What :meth:`StateFile.load` read back."""

    tasks: list[Task]
    uploads: list[Upload]
    organization: Organization | None


class StateFile:
    """One emulator's tasks, uploads, organization and secret in SQLite.

    Not thread-safe: the owner (:class:`~vidgate.emulator.state.EmulatorState`) serialises calls.
    """

    def __init__(self, path: Path, clock: Clock) -> None:
        private_file(path)  # 0600, and so its -wal and -shm: it holds the signing secret
        self.path = path
        self._clock = clock
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a kill -9
        self._db.executescript(_SCHEMA)

    def secret(self) -> bytes:
        """The signing secret of this emulator, made on first use."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        if row is not None:
            return bytes.fromhex(row[0])
        secret = secrets.token_bytes(32)
        self._db.execute("INSERT INTO meta VALUES ('secret', ?)", (secret.hex(),))
        return secret

    def load(self) -> SavedState:
        tasks = [
            Task.from_record(_decode(r), self._at)
            for (r,) in self._db.execute("SELECT record FROM tasks")
        ]
        uploads = [
            Upload.from_record(_decode(r), self._at)
            for (r,) in self._db.execute("SELECT record FROM uploads")
        ]
        row = self._db.execute("SELECT value FROM meta WHERE key = 'organization'").fetchone()
        organization = Organization.from_record(_decode(row[0]), self._at) if row else None
        return SavedState(tasks, uploads, organization)

    def save(
        self,
        *,
        tasks: Iterable[Task] = (),
        deleted_tasks: Iterable[str] = (),
        uploads: Iterable[Upload] = (),
        deleted_uploads: Iterable[str] = (),
        organization: Organization | None = None,
    ) -> None:
        """Write these changes in one transaction."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?)",
                [(t.id, _encode(t.record(self._wall))) for t in tasks],
            )
            self._db.executemany("DELETE FROM tasks WHERE id = ?", [(i,) for i in deleted_tasks])
            self._db.executemany(
                "INSERT OR REPLACE INTO uploads VALUES (?, ?)",
                [(u.id, _encode(u.record(self._wall))) for u in uploads],
            )
            self._db.executemany(
                "DELETE FROM uploads WHERE id = ?", [(i,) for i in deleted_uploads]
            )
            if organization is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('organization', ?)",
                    (_encode(organization.record(self._wall)),),
                )

    def clear(self) -> None:
        """Forget every task, upload and the organization (the secret stays)."""
        with self._transaction():
            self._db.execute("DELETE FROM tasks")
            self._db.execute("DELETE FROM uploads")
            self._db.execute("DELETE FROM meta WHERE key = 'organization'")

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def _wall(self, at: float) -> float:
        return self._clock.wall(at).timestamp()

    def _at(self, wall: float) -> float:
        # wall() is affine in the reading, so its inverse is a difference from reading 0.
        return (datetime.fromtimestamp(wall, UTC) - self._clock.wall(0.0)).total_seconds()


def _encode(values: dict[str, Any]) -> str:
    return json.dumps(values, default=_bytes_to_json, separators=(",", ":"))


def _decode(text: str) -> dict[str, Any]:
    values: dict[str, Any] = json.loads(text, object_hook=_json_to_bytes)
    return values


def _bytes_to_json(value: object) -> object:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    raise TypeError(f"cannot store {type(value).__name__}")


def _json_to_bytes(obj: dict[str, Any]) -> object:
    if len(obj) == 1 and "$bytes" in obj:
        return base64.b64decode(obj["$bytes"])
    return obj
