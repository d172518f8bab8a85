"""The price of a whole generation body, checked exactly as creating it would check it.

``price_request`` is the one estimate of a request: ``POST /v1/estimate`` with a body, the web
page's price and ``vidgate estimate`` all read it, so what they show is what a job reserves (a
chain is planned first: a 2.5 s chain of 3 s segments is priced at 3 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vidgate.catalog import Catalog, CostEstimate, get_catalog
from vidgate.requests.chain_plan import CHAIN_ENDPOINT, validate_chain
from vidgate.requests.generation import validate_request

__all__ = ["price_request"]


def price_request(
    endpoint: str, raw: Mapping[str, Any], *, catalog: Catalog | None = None
) -> CostEstimate:
    """Validate ``raw`` for ``endpoint`` (ValidationFailed naming every bad field) and price it.

    A single generation is priced for the length it asks (the model's default when it asks none);
    a chain for each planned segment, added up.
    """
    catalog = catalog or get_catalog()
    if endpoint != CHAIN_ENDPOINT:
        generation = validate_request(endpoint, raw, catalog=catalog)
        return catalog.estimate_cost(
            generation.model, duration=generation.duration_seconds, endpoint=generation.endpoint
        )
    plan = validate_chain(raw, catalog=catalog)
    low = high = 0.0
    known = True
    for index, seconds in enumerate(plan.durations):
        part = catalog.estimate_cost(plan.model, duration=seconds, endpoint=plan.endpoint(index))
        if part.low is None or part.high is None:
            known = False
            break
        low += part.low
        high += part.high
    seconds_total = float(plan.generated_seconds)
    if not known:
        return CostEstimate(plan.model, seconds_total, None, None)
    return CostEstimate(plan.model, seconds_total, round(low, 6), round(high, 6))
