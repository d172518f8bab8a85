"""The one emulator of a data directory, shared by every vidgate process on it (emulator mode).

``vidgate serve``, ``vidgate worker`` and the embedded ``vidgate generate`` on one data directory
must agree on who the provider is, or one process polls tasks the other's emulator made. So the
first of them to start runs the emulator, with its state in ``DATA_DIR/emulator/state.db``
(:mod:`vidgate.emulator.state_file`), and publishes its URL in ``DATA_DIR/emulator/emulator.json``;
the others use that URL. Ownership is an exclusive ``flock`` on ``owner.lock``, held for as long as
the emulator runs: the kernel drops it when the process ends, even by ``kill -9``, so a lock that
can be taken means nobody runs the emulator. A second lock, ``start.lock``, is held while a
process decides and starts, so nobody reads a half-written ``emulator.json``.

When the owner stops, the others notice within :data:`TAKEOVER_SECONDS` (each tries the lock
that often) and one of them takes over: it starts the emulator on the same port, reading the
state back, so tasks go on to their end and the URLs others hold keep working (the SDK retries the
requests refused in between). Should the port be taken, the new owner picks another and
:attr:`SharedEmulator.on_moved` tells this process's provider the new URL.

Without ``fcntl`` (Windows) each process runs its own emulator, as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.content_credentials import ROOT_FILE
from vidgate.emulator.server import EmulatorControl, EmulatorServer
from vidgate.errors import ConfigurationError
from vidgate.settings import Settings
from vidgate.storage.private import open_private, private_directory

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "EMULATOR_DIR",
    "TAKEOVER_SECONDS",
    "SharedEmulator",
    "emulator_config",
    "trusted_root_pending",
]

log = logging.getLogger("vidgate.emulator")

EMULATOR_DIR = "emulator"
TAKEOVER_SECONDS = 0.2  # how often a process that uses another's emulator checks it still runs


def emulator_config(settings: Settings) -> EmulatorConfig:
    """The emulator of emulator mode: the configured task time, its state under the data dir."""
    home = settings.data_dir.resolve() / EMULATOR_DIR
    return EmulatorConfig(
        task_seconds=settings.emulator_task_seconds,
        state_file=home / "state.db",
        output_dir=home / "outputs",
    )


def trusted_root_pending(settings: Settings) -> bool:
    """True when ``VIDGATE_C2PA_TRUST_ANCHORS`` names this data directory's emulator test root
    before any emulator has written it: vidgate reads it once its emulator has started."""
    anchors = settings.c2pa_trust_anchors
    root = settings.data_dir.resolve() / EMULATOR_DIR / ROOT_FILE
    return bool(
        settings.emulator_mode
        and anchors is not None
        and not anchors.exists()
        and anchors.resolve() == root
    )


class SharedEmulator:
    """This process's handle on the data directory's emulator: running it, or using another's."""

    def __init__(self, config: EmulatorConfig, home: Path) -> None:
        self.config = config
        self.home = home
        self.server: EmulatorServer | None = None  # set while this process runs the emulator
        self.base_url = ""
        self.control_token: str | None = None  # the running emulator's, from emulator.json
        #: Called with the new URL when another process's takeover moved the emulator.
        self.on_moved: Callable[[str], None] | None = None
        self._owner_lock: IO[bytes] | None = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedEmulator:
        return cls(emulator_config(settings), settings.data_dir.resolve() / EMULATOR_DIR)

    @property
    def owner(self) -> bool:
        return self.server is not None

    @property
    def registry(self) -> Path:
        return self.home / "emulator.json"

    def start(self) -> SharedEmulator:
        """Run the emulator or find the one running; from then on, take over if it stops."""
        if fcntl is None:  # pragma: no cover - Windows: a private emulator
            self.server = EmulatorServer(self.config.model_copy(update={"state_file": None}))
            self.base_url = self.server.start().base_url
            return self
        private_directory(self.home)
        self._settle()
        if not self.owner:
            log.info("emulator mode: using the emulator of %s at %s", self.home, self.base_url)
            self._watch = threading.Thread(
                target=self._watch_owner, name="vidgate-emulator-watch", daemon=True
            )
            self._watch.start()
        return self

    def task_timings(self) -> tuple[float, float]:
        """A new task's time before its progress moves (THROTTLED and PENDING) and its whole
        time to the end, as the emulator's owner configured them: the poll cadence's prior."""
        if self.server is not None:
            knobs = self.server.state.config.public()
        else:
            knobs = EmulatorControl(self.base_url, token=self.control_token).get_config()
        start = float(knobs["throttleSeconds"]) + float(knobs["pendingSeconds"])
        return start, start + float(knobs["taskSeconds"])

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=5)
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self._owner_lock is not None:
            self._owner_lock.close()  # another process may take over from here
            self._owner_lock = None

    # --- who runs it ---------------------------------------------------------------------

    def _settle(self) -> bool:
        """Become the owner if nobody is, else read the owner's URL; True if the URL changed."""
        before = self.base_url
        with self._locked("start.lock"):
            handle = open_private(self.home / "owner.lock")
            try:
                assert fcntl is not None
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                published = self._published()
                self.base_url = published["url"]
                self.control_token = published.get("controlToken")
            else:
                self._run(handle)
        return self.base_url != before

    def _run(self, lock: IO[bytes]) -> None:
        published = self._published(missing_ok=True)
        port = int(published.get("port", 0)) if published.get("dataDir") == str(self.home) else 0
        # A takeover keeps the token too, so those who hold it keep driving the knobs.
        token = published.get("controlToken") if port else None
        try:
            server = EmulatorServer(self.config, port=port, control_token=token).start()
        except ConfigurationError:
            if port == 0:
                lock.close()
                raise
            log.warning("emulator port %s is taken; the emulator moves to a new port", port)
            server = EmulatorServer(self.config, control_token=token).start()
        self.server, self._owner_lock, self.base_url = server, lock, server.base_url
        self.control_token = server.control_token
        record = {
            "url": server.base_url,
            "controlToken": server.control_token,
            "port": server.port,
            "pid": os.getpid(),
            "dataDir": str(self.home),
        }
        part = self.registry.with_suffix(".part")
        # It carries the control token: readable by this user only.
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(record, indent=2) + "\n")
        os.chmod(part, 0o600)
        part.replace(self.registry)
        tasks = len(server.state.board)
        log.info(
            "emulator mode: running the emulator of %s at %s (%d task%s kept from before)",
            self.home,
            server.base_url,
            tasks,
            "" if tasks == 1 else "s",
        )

    def _published(self, *, missing_ok: bool = False) -> dict[str, Any]:
        try:
            record: dict[str, Any] = json.loads(self.registry.read_text())
            return record
        except (OSError, ValueError) as exc:
            if missing_ok:
                return {}
            raise ConfigurationError(
                f"{self.registry} is missing or unreadable, yet another process holds the "
                f"emulator's lock ({exc}); stop the other vidgate processes on this data directory"
            ) from exc

    def _watch_owner(self) -> None:
        while not self._stop.wait(TAKEOVER_SECONDS):
            try:
                moved = self._settle()
            except Exception:  # keep watching: the next round may succeed
                log.exception("emulator takeover failed")
                continue
            if moved and self.on_moved is not None:
                log.warning("the emulator moved to %s", self.base_url)
                self.on_moved(self.base_url)
            if self.owner:
                return

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        assert fcntl is not None
        with open_private(self.home / name) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
