"""The idle pause of a background loop: sleep until the next look is due, or until woken.

The worker loop (:mod:`vidgate.pipeline.worker`) and the webhook dispatcher
(:mod:`vidgate.webhooks.dispatcher`) both run rounds of "claim what is due, work on it"; when a
round finds nothing they wait for a fixed pause, cut short by :meth:`Wakeup.set` (new work was
stored in this process) or by the loop's stop event (a shutdown need not wait out the pause).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Wakeup", "run_rounds"]


class Wakeup:
    """A wake-up call for one loop; setting it early wakes the loop's next pause at once."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        """Have the loop look again now."""
        self._event.set()

    async def pause(self, seconds: float, stop: asyncio.Event | None = None) -> None:
        """Sleep ``seconds``, or less if woken (or ``stop`` is set) meanwhile; then re-arm."""
        waits = [asyncio.ensure_future(self._event.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*waits, return_exceptions=True)
        self._event.clear()


async def run_rounds(
    round_: Callable[[], Awaitable[int]],
    *,
    stop: asyncio.Event,
    wakeup: Wakeup,
    idle_seconds: float,
    log: logging.Logger | None = None,
    name: str = "round",
) -> None:
    """Run ``round_`` until ``stop`` is set, pausing ``idle_seconds`` after a round that did
    nothing (it returns the work it did; 0 is idle).

    With ``log``, a round that raises is logged and counts as idle, so a database hiccup does not
    end the loop for the life of the process; without it, the error ends the loop.
    """
    while not stop.is_set():
        try:
            busy = await round_()
        except Exception:
            if log is None:
                raise
            log.exception("%s failed; trying again", name)
            busy = 0
        if not busy and not stop.is_set():
            await wakeup.pause(idle_seconds, stop)
