"""Equal render plans share one rendered file, so many identical tasks cost one render.

The renderer is deterministic: the same :class:`~vidgate.emulator.plan.RenderPlan` (size, length,
frame rate, seed, prompt and input bytes) always gives the same bytes. So the first task with a
given plan renders it, and a later task with an equal plan gets a hard link to that file (a copy
where the file system cannot link) instead of rendering it again. A client sees the pictures and
sound a fresh render would give (the signed content credentials are shared too); only the CPU time
changes. This is what lets a benchmark keep thousands of emulated tasks in flight on a small
machine (each 720p render costs 0.1-0.3 s of CPU), as long as it gives them equal parameters,
seed included (without a ``seed`` in the request the emulator draws a random one per task, and
nothing is shared).

The cache keeps the ``capacity`` most recently used plans, in ``<output dir>/.render-cache``.
Two tasks with an equal plan whose renders start at the same moment may both render; the later
file simply replaces the earlier one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from vidgate.emulator.plan import RenderPlan

__all__ = ["DEFAULT_CAPACITY", "RenderCache", "plan_key"]

DEFAULT_CAPACITY = 32
CACHE_DIR = ".render-cache"


def plan_key(plan: RenderPlan) -> str:
    """A digest of everything that decides the rendered bytes (input bytes by their sha256)."""
    digest = hashlib.sha256()
    for item in fields(plan):
        value = getattr(plan, item.name)
        if isinstance(value, bytes):
            value = "sha256:" + hashlib.sha256(value).hexdigest()
        digest.update(f"{item.name}={value!r}\n".encode())
    return digest.hexdigest()


class RenderCache:
    """Rendered files by plan, the ``capacity`` most recently used ones. Thread-safe."""

    def __init__(self, directory: Path, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self.directory = directory
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, Path] = OrderedDict()
        self._lock = threading.Lock()

    def produce(self, plan: RenderPlan, dest: Path, render: Callable[[Path], None]) -> bool:
        """Write the output of ``plan`` to ``dest``: from the cache if it has it (True), else
        by calling ``render(dest)`` and keeping the result (False)."""
        key = plan_key(plan)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
        if cached is not None:
            try:
                _link_or_copy(cached, dest)
            except FileNotFoundError:
                pass  # evicted or cleared meanwhile: render it again
            else:
                with self._lock:
                    self.hits += 1
                return True
        render(dest)
        self._keep(key, dest)
        return False

    def _keep(self, key: str, rendered: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        entry = self.directory / f"{key}.mp4"
        aside = self.directory / f"{key}.{uuid.uuid4().hex}.tmp"
        try:
            _link_or_copy(rendered, aside)
            os.replace(aside, entry)
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                aside.unlink()
            return  # not kept; the task's own file is unaffected
        evicted: list[Path] = []
        with self._lock:
            self.misses += 1
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                _, old = self._entries.popitem(last=False)
                evicted.append(old)
        for old in evicted:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()

    def clear(self) -> None:
        """Forget every entry and delete the cache's files."""
        with self._lock:
            self._entries.clear()
        shutil.rmtree(self.directory, ignore_errors=True)


def _link_or_copy(source: Path, dest: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        dest.unlink()
    try:
        os.link(source, dest)
    except FileNotFoundError:
        raise
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, dest)
