"""The emulator's one background thread: it applies what the clock changes when nobody polls.

Statuses are computed from the clock (:mod:`vidgate.emulator.tasks`), but a slot that frees or a
task that ends must also start the next render, refund credits and save, even if no request comes.
The scheduler sleeps under the state's lock until the next instant at which something changes, or
until :meth:`Scheduler.notify` says the state changed under it, and calls the state's step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Scheduler"]

MAX_WAIT_SECONDS = 1.0  # look again at least this often: a change the step cannot foresee
EVENT_MARGIN_SECONDS = 0.001  # wake just after the instant, so the change is due


class Scheduler:
    """Runs ``step`` under ``lock`` whenever something may have changed.

    ``step`` applies what is due and returns the seconds until the next change, None if none is
    known. ``notify`` must be called with ``lock`` held.
    """

    def __init__(
        self, lock: threading.RLock, step: Callable[[], float | None], *, enabled: bool = True
    ) -> None:
        self._lock = lock
        self._wake = threading.Condition(lock)
        self._step = step
        self._enabled = enabled
        self._thread: threading.Thread | None = None
        self._closed = False

    def ensure_started(self) -> None:
        """Start the thread once (called with the lock held); not when disabled or closed."""
        if not self._enabled or self._thread is not None or self._closed:
            return
        self._thread = threading.Thread(
            target=self._run, name="vidgate-emulator-scheduler", daemon=True
        )
        self._thread.start()

    def notify(self) -> None:
        """The state changed: look again now (called with the lock held)."""
        self._wake.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._lock:
            while not self._closed:
                until = self._step()
                timeout = (
                    MAX_WAIT_SECONDS
                    if until is None
                    else min(MAX_WAIT_SECONDS, max(0.0, until) + EVENT_MARGIN_SECONDS)
                )
                self._wake.wait(timeout)
