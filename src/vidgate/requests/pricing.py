"""The price of a whole generation body, checked exactly as creating it would check it.

``price_request`` is the one estimate of a request: ``POST /v1/estimate`` with a body, the web
page's price and ``vidgate estimate`` all read it, so what they show is what a job reserves (a
chain is planned first: a 2.5 s chain of 3 s segments is priced at 3 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vidgate.catalog import Catalog, CostEstimate, Endpoint, get_catalog
from vidgate.requests.chain_plan import CHAIN_ENDPOINT, validate_chain
from vidgate.requests.generation import validate_request

__all__ = ["price_request"]

# Stand-ins for inputs that do not change the price (a prompt, an input's URI): a form that is
# still being filled in is priced as it will be once they are given.
_STAND_IN_TEXT = "stand-in prompt"
_STAND_IN_URI = "runway://stand-in"


def _stand_ins(endpoint: str, raw: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    body = dict(raw)
    model_id = raw.get("model")
    if not isinstance(model_id, str) or model_id not in catalog:
        return body
    model = catalog.model(model_id)
    if endpoint == CHAIN_ENDPOINT:
        if "promptText" not in body and "promptTexts" not in body:
            body["promptText"] = _STAND_IN_TEXT
        if Endpoint.TEXT_TO_VIDEO not in model.endpoints:
            body.setdefault("promptImage", _STAND_IN_URI)
        return body
    try:
        spec = model.endpoints[Endpoint(endpoint)]
    except (KeyError, ValueError):
        return body
    for name, field in spec.fields.items():
        if not field.required or name in body:
            continue
        if field.type == "text":
            body[name] = _STAND_IN_TEXT
        elif field.type in ("frames", "media"):
            body[name] = _STAND_IN_URI
        elif field.type == "typed_media":
            body[name] = {"type": (field.types or ("image",))[0], "uri": _STAND_IN_URI}
    return body


def price_request(
    endpoint: str,
    raw: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    inputs_optional: bool = False,
) -> CostEstimate:
    """Validate ``raw`` for ``endpoint`` (ValidationFailed naming every bad field) and price it.

    A single generation is priced for the length it asks (the model's default when it asks none);
    a chain for each planned segment, added up. ``inputs_optional``: a required prompt or input
    media that is missing is not a problem (they do not change the price).
    """
    catalog = catalog or get_catalog()
    if inputs_optional:
        raw = _stand_ins(endpoint, raw, catalog)
    if endpoint != CHAIN_ENDPOINT:
        generation = validate_request(endpoint, raw, catalog=catalog)
        return catalog.estimate_cost(
            generation.model, duration=generation.duration_seconds, endpoint=generation.endpoint
        )
    plan = validate_chain(raw, catalog=catalog)
    low = high = 0.0
    for index, seconds in enumerate(plan.durations):
        part = catalog.estimate_cost(plan.model, duration=seconds, endpoint=plan.endpoint(index))
        if part.low is None or part.high is None:
            return CostEstimate(plan.model, float(plan.generated_seconds), None, None)
        low += part.low
        high += part.high
    return CostEstimate(plan.model, float(plan.generated_seconds), round(low, 6), round(high, 6))
