"""What ``generate`` fills in when the user leaves it out, shared with ``estimate`` and
``recommend`` so that the three price the same request; and the ``--duration`` option they share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import typer

from vidgate.catalog.catalog import DEFAULT_SECONDS

__all__ = [
    "Defaults",
    "duration_option",
    "fill_defaults",
    "nearest_duration",
    "number",
]

_DURATION_HELP = (
    "Seconds of video, whole; default: 5 or the nearest allowed. Beyond the model's longest, "
    "generations are chained into one video (up to 300 s)."
)


def _positive_seconds(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive number of seconds, got {value:g}")
    return value


def duration_option(help: str = _DURATION_HELP) -> Any:
    return typer.Option(None, "--duration", "-d", help=help, callback=_positive_seconds)


def number(value: float) -> int | float:
    """3.0 -> 3 (the wire's whole seconds), 3.5 stays (and is refused by name)."""
    return int(value) if float(value).is_integer() else value


def nearest_duration(durations: Sequence[int]) -> int | None:
    """The allowed length closest to 5 s (the longer one on a tie)."""
    if not durations:
        return None
    return min(durations, key=lambda d: (abs(d - DEFAULT_SECONDS), -d))


@dataclass
class Defaults:
    """The body's ratio and duration after defaults, and a note of what was chosen."""

    body: dict[str, Any]
    chosen: list[str] = field(default_factory=list)
    chained: bool = False


def fill_defaults(
    body: dict[str, Any],
    fields: Mapping[str, Any],
    *,
    ratios: Sequence[str],
    durations: Sequence[int],
    ratio: str | None,
    duration: float | None,
) -> Defaults:
    """Add ``ratio`` and ``duration`` to ``body``, or the defaults a model needs (``fields``: the
    endpoint's field specs, the catalog's or the API's); a duration beyond the longest allowed
    turns the body into a chain."""
    ratio_required = "ratio" in fields and bool(fields["ratio"].required)
    duration_required = "duration" in fields and bool(fields["duration"].required)
    result = Defaults(body)
    if ratio is not None:
        body["ratio"] = ratio
    elif ratio_required and ratios:
        body["ratio"] = ratios[0]
        result.chosen.append(f"ratio {ratios[0]}")
    if duration is not None:
        body["duration"] = number(duration)
    elif duration_required:
        chosen = nearest_duration(durations)
        if chosen is not None:
            body["duration"] = chosen
            result.chosen.append(f"{chosen} s")
    if duration is not None and durations and duration > max(durations):
        # Longer than one generation: the server chains segments, each from the last frame.
        body["endpoint"] = "chain"
        result.chained = True
    return result
