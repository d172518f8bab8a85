"""What vidgate keeps on local disk is its own: directories 0700, files 0600.

The data directory holds the database (every key's webhook secret, sealed: :mod:`vidgate.webhooks.
sealing`), the link and secrets keys, the emulator's state, uploads in flight and, by default, the
stored videos, which are served only through vidgate. Three layers keep other local users out:

* ``vidgate serve``, ``worker`` and ``emulator`` set the process umask to 0077 first thing
  (:func:`keep_private`), so whatever any library creates (SQLite's ``-wal`` and ``-shm``,
  obstore's objects, PyAV's renders) is created private;
* the files that matter most are created with their mode whatever the umask
  (:func:`private_directory`, :func:`private_file`, :func:`open_private`,
  :func:`read_or_make_secret`);
* at start-up :func:`make_private` walks the data directory (and a local storage directory
  elsewhere), takes group and other permissions away from what this user owns and says so, and
  names what it cannot change.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

__all__ = [
    "DIRECTORY_MODE",
    "FILE_MODE",
    "OpenEntry",
    "keep_private",
    "make_private",
    "open_private",
    "private_directory",
    "private_file",
    "read_or_make_secret",
]

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # group and other permission bits


def keep_private() -> None:
    """From now on this process creates files 0600 and directories 0700 (umask 0077)."""
    os.umask(_OTHERS)


def private_directory(path: Path) -> Path:
    """``path`` as a directory, made 0700 (with any missing parents) if it did not exist."""
    if not path.is_dir():
        for missing in reversed([path, *path.parents]):
            if not missing.exists():
                with contextlib.suppress(FileExistsError):
                    missing.mkdir(mode=DIRECTORY_MODE)  # a umask only takes bits away
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file, made empty and 0600 if it did not exist (an existing one is left).

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so a database file
    made here first keeps all three private.
    """
    private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return path


def open_private(path: Path) -> IO[bytes]:
    """``path`` opened for appending in binary (a lock file), made 0600 if new."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    return os.fdopen(fd, "ab")


def read_or_make_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in ``path`` (0600), made by ``make`` and written the first time.

    Of two processes starting at once, one writes (``O_EXCL``) and both read the same.
    """
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    private_directory(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(make())
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    value = path.read_text().strip()
    if not value:  # another process is still writing it
        time.sleep(0.05)
        value = path.read_text().strip()
    return value


class OpenEntry(NamedTuple):
    """A directory or file that other users could read, and what was done about it."""

    path: Path
    #: Its permission bits as found (``0o755``).
    was: int
    #: Its permission bits now; the same as ``was`` when it is not this user's to change.
    now: int

    @property
    def changed(self) -> bool:
        return self.now != self.was


def make_private(root: Path) -> list[OpenEntry]:
    """Take group and other permissions away from everything under ``root`` (``root`` too) that
    this user owns; every entry found open, changed or not. Symbolic links are not followed."""
    found: list[OpenEntry] = []
    if not root.is_dir():
        return found
    me = os.geteuid()
    for path, info in _walk(root):
        bits = stat.S_IMODE(info.st_mode)
        if not bits & _OTHERS:
            continue
        now = bits
        if info.st_uid == me:
            now = bits & ~_OTHERS
            try:
                os.chmod(path, now)
            except FileNotFoundError:
                continue  # removed meanwhile (a temporary file): nothing left to protect
            except OSError:
                now = bits
        found.append(OpenEntry(path, bits, now))
    return found


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """``root`` and every directory and regular file under it, with its ``lstat``."""
    pending = [root]
    yield root, root.lstat()
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:  # gone, or not ours to read: make_private reports what it can see
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(Path(entry.path))
            elif not stat.S_ISREG(info.st_mode):
                continue  # links, sockets: their modes say nothing
            yield Path(entry.path), info
