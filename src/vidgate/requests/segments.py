"""How a long video is cut into segments a model can generate: the fewest, the closest cover."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["plan_segments"]


def plan_segments(allowed: Sequence[int], total: float) -> tuple[int, ...]:
    """Segment lengths from ``allowed`` covering ``total`` seconds with the fewest generations.

    Among plans with that fewest count, the smallest sum that reaches ``total`` wins (the closest
    cover: nothing is paid for beyond it), then the most even lengths, longest first. gen4.5
    (2-10 s) for 30 s: ``(10, 10, 10)``; for 25 s: ``(9, 8, 8)``; veo3.1 (4, 6, 8) for 25 s:
    ``(8, 6, 6, 6)`` (26 s: 25 is not reachable; the joined video is cut to 25 s).
    """
    values = sorted({int(v) for v in allowed if v > 0})
    if not values:
        raise ValueError("the model has no whole-second durations to plan with")
    if not (math.isfinite(total) and total > 0):
        raise ValueError(f"total must be a positive number of seconds, got {total!r}")
    count = max(1, math.ceil(total / values[-1]))
    reach = _reachable(values, count)
    wanted = math.ceil(total)
    best = min(s for s in range(wanted, count * values[-1] + 1) if reach[count] >> s & 1)
    # The most even plan: the narrowest band of lengths (around the mean) that still sums to best.
    mean = best / count
    bands = sorted(
        ((lo, hi) for lo in values for hi in values if lo <= mean <= hi),
        key=lambda band: (band[1] - band[0], -band[1]),
    )
    for lo, hi in bands:
        band = [v for v in values if lo <= v <= hi]
        steps = _reachable(band, count)
        if steps[count] >> best & 1:
            return _pick(band, steps, count, best)
    return _pick(values, reach, count, best)  # pragma: no cover - the full set always reaches


def _reachable(values: Sequence[int], count: int) -> list[int]:
    """``reach[k]`` has bit ``s`` set when ``k`` lengths from ``values`` can sum to ``s``."""
    reach = [1]
    for _ in range(count):
        previous, current = reach[-1], 0
        for value in values:
            current |= previous << value
        reach.append(current)
    return reach


def _pick(values: Sequence[int], reach: list[int], count: int, total: int) -> tuple[int, ...]:
    chosen: list[int] = []
    for k in range(count, 0, -1):
        value = next(
            v
            for v in sorted(values, reverse=True)
            if v <= total and reach[k - 1] >> (total - v) & 1
        )
        chosen.append(value)
        total -= value
    return tuple(sorted(chosen, reverse=True))
