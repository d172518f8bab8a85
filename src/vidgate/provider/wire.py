"""Constants of Runway's wire format that more than the provider needs (the live ``/runway``
surface, the emulator): read from the official SDK, so they follow it."""

from __future__ import annotations

import inspect
from typing import Final

import runwayml

__all__ = ["RUNWAY_VERSION", "RUNWAY_VERSION_HEADER"]

#: The API version the SDK sends in every request (``X-Runway-Version``), its constructor's default.
RUNWAY_VERSION: Final[str] = (
    inspect.signature(runwayml.AsyncRunwayML).parameters["runway_version"].default
)
RUNWAY_VERSION_HEADER: Final = "X-Runway-Version"
