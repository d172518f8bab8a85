"""The Runway API emulator: same wire format on loopback, synthetic MP4 outputs, fault knobs.

Modules: ``config`` (the knobs), ``app`` (the HTTP surface), ``server`` (uvicorn in a thread),
``state`` (everything one emulator holds), ``tasks`` (statuses from elapsed time, concurrency
slots), ``organization`` (credits, usage, daily windows), ``uploads``, ``inputs`` (fetching media
as Runway does), ``plan`` (output size and length), ``pricing``, ``outputs`` (renders, signed
URLs), ``downloads`` (Range, pacing, truncation), ``faults`` (429/5xx/drops), ``stats``,
``clock``, ``render`` (the synthetic videos), ``testing`` (helpers for tests).

The main names are importable from here, lazily (``render`` users do not load the web stack).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidgate.emulator.app import create_emulator_app
    from vidgate.emulator.config import EmulatorConfig
    from vidgate.emulator.server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorServer", "create_emulator_app"]

_HOMES = {
    "EmulatorConfig": "vidgate.emulator.config",
    "EmulatorServer": "vidgate.emulator.server",
    "create_emulator_app": "vidgate.emulator.app",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
