"""What an emulated task costs: the catalog's price, or a synthetic rate where none is known.

``estimatedCost`` is what Runway charges up front: the requested duration, or the longest the
model allows for ``"auto"`` and absent durations. The final ``cost`` of a successful task is the
rate times the length actually produced (never above the estimate), so ``"auto"`` tasks get the
difference back, as Runway refunds unused prepaid credits. Models the catalog has no price for
are billed at ``syntheticCreditsPerSecond``: an emulator-only number, not Runway's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vidgate.catalog import Catalog
from vidgate.emulator.plan import RenderPlan
from vidgate.requests.generation import GenerationRequest

__all__ = ["Price", "price_task"]


@dataclass(frozen=True)
class Price:
    estimated_credits: int  # charged at creation
    credits_per_second: float  # of output actually produced, for the final cost
    synthetic: bool  # True: the catalog has no price; the emulator's own rate was used


def price_task(
    request: GenerationRequest, plan: RenderPlan, *, catalog: Catalog, synthetic_rate: float
) -> Price:
    value = request.body.get("duration")
    spec = request.spec
    seconds: float | None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = float(value)
    elif spec is not None and spec.allowed_durations:
        seconds = None  # billed at the longest allowed, up front
    else:
        seconds = plan.duration_seconds  # the length follows the input
    estimate = catalog.estimate_cost(request.model, duration=seconds, endpoint=request.endpoint)
    billed = estimate.duration_seconds
    if estimate.high is not None and billed:
        return Price(_whole(estimate.high), estimate.high / billed, synthetic=False)
    billed = billed or plan.duration_seconds
    return Price(_whole(synthetic_rate * billed), synthetic_rate, synthetic=True)


def _whole(credits: float) -> int:
    """Whole credits, rounded up: Runway never bills a fraction."""
    return math.ceil(round(credits, 6))
