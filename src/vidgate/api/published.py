"""Where a running ``vidgate serve`` can be found: ``DATA_DIR/server.json``.

``vidgate serve`` writes it once it listens and removes it when it stops; the CLI reads it when no
``--url`` is given, so its commands go through the server already running on the same data
directory (its worker, its log) instead of starting a second vidgate in-process. A record left by
a killed server names a URL where nothing answers: the CLI checks before using it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import httpx

__all__ = ["RECORD_NAME", "answering_server", "publish", "withdraw"]

RECORD_NAME = "server.json"
#: A server that does not answer ``/healthz`` this quickly is taken to be gone.
_PROBE_SECONDS = 2.0


def publish(data_dir: Path, url: str) -> None:
    """Say that this process serves ``data_dir`` at ``url`` (replacing any older record)."""
    record = {"url": url, "pid": os.getpid(), "dataDir": str(data_dir.resolve())}
    path = data_dir / RECORD_NAME
    part = path.with_suffix(".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(record, indent=2) + "\n")
    part.replace(path)


def withdraw(data_dir: Path) -> None:
    """Remove this process's record (another server's, published since, is left alone)."""
    path = data_dir / RECORD_NAME
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def answering_server(data_dir: Path) -> str | None:
    """The URL a server published for ``data_dir``, if one is there and answers ``/healthz``."""
    try:
        record = json.loads((data_dir / RECORD_NAME).read_text())
        url = str(record["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        answer = httpx.get(f"{url}/healthz", timeout=_PROBE_SECONDS)
    except httpx.HTTPError:
        return None
    return url if answer.status_code == 200 else None
