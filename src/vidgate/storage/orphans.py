"""Leftovers of a killed process: temporary objects and scratch files nobody will finish."""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from vidgate.clock import utcnow

__all__ = ["ORPHAN_AGE", "cleanup_local", "remove_orphans"]


class _Temporaries(Protocol):
    """What :func:`remove_orphans` needs of a storage (``Storage`` is one)."""

    async def cleanup_temporary(self, older_than: timedelta) -> int: ...


#: A temporary file untouched this long has no live writer (a stalled upload ends after the body
#: idle timeout, a download after its read timeout): it is a leftover of a killed process.
ORPHAN_AGE = timedelta(minutes=10)


def cleanup_local(directory: Path, cutoff: datetime) -> int:
    # Walks the disk, not obstore's listing: it also sees half-written multipart staging files.
    removed = 0
    if not directory.is_dir():
        return 0
    threshold = cutoff.timestamp()
    for entry in os.scandir(directory):
        if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < threshold:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


async def remove_orphans(storage: _Temporaries, scratch_dir: Path) -> int:
    """At start-up: temporary objects of ``storage`` and files in ``scratch_dir`` (uploads,
    fetches) left by a killed process; returns how many went."""
    removed = await storage.cleanup_temporary(ORPHAN_AGE)
    cutoff = utcnow() - ORPHAN_AGE
    return removed + await asyncio.to_thread(cleanup_local, scratch_dir, cutoff)
