"""Raw input for a generation endpoint -> a validated ``GenerationRequest``.

One function, ``validate_request``, checks a wire body against the catalog's rules for its model and
endpoint and reports every problem at once, each with its field path and the allowed values
("duration: veo3.1 accepts 4, 6 or 8, got 5"). The HTTP API and the emulator both call it, so a
request vidgate accepts is one the emulator accepts and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vidgate.catalog import Catalog, Endpoint, Model, get_catalog
from vidgate.errors import ValidationFailed
from vidgate.requests.fields import FieldChecker
from vidgate.requests.rules import apply_rules
from vidgate.requests.types import GenerationRequest, MediaInput
from vidgate.requests.wording import listed

__all__ = ["GenerationRequest", "MediaInput", "validate_request"]


def validate_request(
    endpoint: str,
    raw: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    allow_legacy: bool = True,
    check_media: Callable[[MediaInput], str | None] | None = None,
) -> GenerationRequest:
    """Check ``raw`` (a wire body with ``model``) for ``endpoint``; raise ValidationFailed listing
    every problem. ``check_media`` may add a policy on top (the API's URL allowlist): it returns a
    message for a media input it refuses."""
    catalog = catalog or get_catalog()
    try:
        ep = Endpoint(endpoint)
    except ValueError:
        allowed = ", ".join(e.value for e in Endpoint)
        raise ValidationFailed.single(
            "endpoint", f"must be one of {allowed}, got {endpoint!r}"
        ) from None
    if not isinstance(raw, Mapping):
        raise ValidationFailed.single("", "the request body must be a JSON object")
    model = _resolve_model(catalog, ep, raw.get("model"), allow_legacy)
    spec = model.endpoints[ep]
    checker = FieldChecker(model, ep, spec, catalog)
    body = checker.check(raw)
    apply_rules(checker, raw)
    if check_media is not None:
        for media in checker.media:
            message = check_media(media)
            if message:
                checker.problem(media.path, message)
    if checker.problems:
        raise ValidationFailed(checker.problems)
    return GenerationRequest(ep, model.id, body, tuple(checker.media), spec)


def _resolve_model(catalog: Catalog, ep: Endpoint, value: object, allow_legacy: bool) -> Model:
    def offered() -> str:  # only for the error: every request would pay for the list
        return listed(
            [m for m in catalog.model_ids(ep) if allow_legacy or not catalog.model(m).legacy]
        )

    if value is None:
        raise ValidationFailed.single("model", f"required; {ep.value} takes {offered()}")
    if not isinstance(value, str) or value not in catalog:
        raise ValidationFailed.single(
            "model", f"unknown model {value!r}; {ep.value} takes {offered()}"
        )
    model = catalog.model(value)
    if model.legacy and not allow_legacy:
        raise ValidationFailed.single("model", f"{value} is a legacy model: {model.legacy_note}")
    if ep not in model.endpoints:
        hint = ""
        if Endpoint.IMAGE_TO_VIDEO in model.endpoints and ep is Endpoint.TEXT_TO_VIDEO:
            hint = f"{value} needs an image: use image_to_video with promptImage; "
        takes = ", ".join(e.value for e in model.endpoints)
        raise ValidationFailed.single(
            "model", f"{hint}{value} is not offered on {ep.value} (it takes {takes})"
        )
    return model
