"""A chain request (``endpoint: "chain"``) -> a validated :class:`ChainPlan`: segments and bodies.

A chain makes one long video from several generations of one model: segment 1 from the prompt
(text to video) or from the caller's first image (image to video), each later segment from the
previous segment's last frame (image to video). :func:`validate_chain` checks the chain's own
fields, plans the segments (:func:`~vidgate.requests.segments.plan_segments`) and runs every
segment's body through :func:`vidgate.requests.generation.validate_request`, so a chain the API
accepts only makes
segment requests the provider accepts. Every problem is named with its path in the chain body (422).

Wire body::

    {"model": "gen4.5", "promptText": "...", "duration": 30, "ratio": "1280:720",
     "promptImage": "runway://..." (optional), "promptTexts": ["...", ...] (instead of promptText),
     "segmentDurations": [10, 10, 10] (optional: the plan, chosen by vidgate when absent),
     "seed": 7, "contentModeration": {...}, "audio": true (optional, passed to every segment)}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vidgate.catalog import Catalog, Endpoint, EndpointSpec, Model, get_catalog
from vidgate.errors import FieldProblem, ValidationFailed
from vidgate.requests.generation import validate_request
from vidgate.requests.segments import plan_segments

__all__ = [
    "CHAIN_ENDPOINT",
    "CHAIN_MAX_SECONDS",
    "ChainPlan",
    "validate_chain",
]

#: The ``endpoint`` value of a chained generation.
CHAIN_ENDPOINT = "chain"
#: The longest chain vidgate accepts, in seconds.
CHAIN_MAX_SECONDS = 300
# Stands in for the previous segment's last frame while later segments are validated.
_FRAME_PLACEHOLDER = "runway://chain-previous-frame"
# Fields every segment receives unchanged, when its endpoint takes them.
_PASSED_ON = ("seed", "contentModeration", "audio")
_FIELDS = (
    "model",
    "promptText",
    "promptTexts",
    "duration",
    "segmentDurations",
    "ratio",
    "promptImage",
    *_PASSED_ON,
)


@dataclass(frozen=True)
class ChainPlan:
    """A chain that passed every check: what each segment will ask the provider for."""

    model: str
    #: The requested length of the joined video, in seconds.
    total_seconds: float
    #: Each segment's length as generated; they sum to at least ``total_seconds``.
    durations: tuple[int, ...]
    #: One prompt per segment (the same text repeated when one prompt was given); None: no prompt.
    prompts: tuple[Any, ...]
    ratio: str | None
    first_image: str | None
    #: Fields passed to every segment as they are (seed, contentModeration, audio).
    passed_on: Mapping[str, Any]
    #: The stored wire body of the chain (the plan included, as ``segmentDurations``).
    body: Mapping[str, Any]

    @property
    def count(self) -> int:
        return len(self.durations)

    @property
    def generated_seconds(self) -> int:
        return sum(self.durations)

    def endpoint(self, index: int) -> Endpoint:
        """Segment ``index``'s endpoint: text to video only for a first segment without image."""
        if index == 0 and self.first_image is None:
            return Endpoint.TEXT_TO_VIDEO
        return Endpoint.IMAGE_TO_VIDEO

    def segment_body(
        self, index: int, image_uri: str | None, *, catalog: Catalog | None = None
    ) -> dict[str, Any]:
        """The wire body of segment ``index``, starting from ``image_uri`` (None: from text)."""
        spec = (catalog or get_catalog()).model(self.model).endpoints[self.endpoint(index)]
        body: dict[str, Any] = {"model": self.model}
        if image_uri is not None:
            body["promptImage"] = image_uri
        prompt = self.prompts[index]
        if prompt is not None:
            body["promptText"] = prompt
        if self.ratio is not None and "ratio" in spec.fields:
            body["ratio"] = self.ratio
        body["duration"] = self.durations[index]
        body.update(self.passed_on)
        return body

    def estimate_credits(self, catalog: Catalog | None = None) -> float | None:
        """The most the whole chain may cost: every segment's estimate, added up."""
        catalog = catalog or get_catalog()
        total = 0.0
        for index, seconds in enumerate(self.durations):
            estimate = catalog.estimate_cost(
                self.model, duration=seconds, endpoint=self.endpoint(index)
            )
            if estimate.high is None:
                return None
            total += estimate.high
        return round(total, 6)


def validate_chain(raw: Mapping[str, Any], *, catalog: Catalog | None = None) -> ChainPlan:
    """Check a chain body; raise ValidationFailed naming every bad field by its path."""
    catalog = catalog or get_catalog()
    if not isinstance(raw, Mapping):
        raise ValidationFailed.single("", "the request body must be a JSON object")
    problems: list[FieldProblem] = []
    for name in raw:
        if name not in _FIELDS:
            problems.append(
                FieldProblem(name, f"unknown field for chain; allowed: {', '.join(_FIELDS)}")
            )
    model = _model(raw.get("model"), raw, catalog, problems)
    total = _total(raw.get("duration"), problems)
    first_image = _first_image(raw.get("promptImage"), problems)
    durations: tuple[int, ...] = ()
    if model is not None:
        allowed = model.endpoints[Endpoint.IMAGE_TO_VIDEO].allowed_durations
        given = raw.get("segmentDurations")
        durations = _durations(model, allowed, given, total, raw.get("duration"), problems)
        if total is None and durations and raw.get("duration") is None:
            total = float(sum(durations))
    prompts = _prompts(raw, len(durations), problems)
    ratio = raw.get("ratio") if isinstance(raw.get("ratio"), str) else None
    if raw.get("ratio") is not None and ratio is None:
        problems.append(FieldProblem("ratio", "must be a string such as 1280:720"))
    if model is None:
        raise ValidationFailed(_unique(problems))
    planned = bool(durations) and total is not None and prompts is not None
    if not planned:
        # The segment checks still run (prompt length, seed, ratio...), on a stand-in plan.
        durations = durations or (max(model.endpoints[Endpoint.IMAGE_TO_VIDEO].allowed_durations),)
    if prompts is None or len(prompts) != len(durations):
        prompts = _stand_in_prompts(raw, len(durations))
    passed_on = {k: raw[k] for k in _PASSED_ON if raw.get(k) is not None}
    body: dict[str, Any] = {"model": model.id}
    for name in ("promptText", "promptTexts", "ratio", "promptImage"):
        if raw.get(name) is not None:
            body[name] = raw[name]
    body["duration"] = _number(total or sum(durations))
    body["segmentDurations"] = list(durations)
    body.update(passed_on)
    plan = ChainPlan(
        model=model.id,
        total_seconds=total or float(sum(durations)),
        durations=durations,
        prompts=prompts,
        ratio=ratio,
        first_image=first_image,
        passed_on=passed_on,
        body=body,
    )
    takes_ratio = any(
        "ratio" in _spec(catalog, plan.model, plan.endpoint(i)).fields for i in range(plan.count)
    )
    if ratio is not None and not takes_ratio:
        problems.append(
            FieldProblem("ratio", f"{model.id} takes no ratio: the output follows the first image")
        )
    found = _segment_problems(plan, raw, catalog)
    if not planned:
        found = [p for p in found if not p.path.startswith(("duration", "segmentDurations"))]
    problems += found
    if problems:
        raise ValidationFailed(_unique(problems))
    return plan


def _stand_in_prompts(raw: Mapping[str, Any], count: int) -> tuple[Any, ...]:
    many = raw.get("promptTexts")
    if isinstance(many, list) and many:
        return tuple(many[index % len(many)] for index in range(max(count, len(many))))
    return (raw.get("promptText"),) * count


def _model(
    value: object, raw: Mapping[str, Any], catalog: Catalog, problems: list[FieldProblem]
) -> Model | None:
    chainable = [
        m.id
        for m in catalog.models(include_legacy=False)
        if m.endpoints.get(Endpoint.IMAGE_TO_VIDEO) is not None
        and m.endpoints[Endpoint.IMAGE_TO_VIDEO].allowed_durations
    ]
    if value is None:
        problems.append(FieldProblem("model", f"required; chains take {', '.join(chainable)}"))
        return None
    if not isinstance(value, str) or value not in catalog:
        problems.append(
            FieldProblem("model", f"unknown model {value!r}; chains take {', '.join(chainable)}")
        )
        return None
    model = catalog.model(value)
    i2v = model.endpoints.get(Endpoint.IMAGE_TO_VIDEO)
    if i2v is None or not i2v.allowed_durations:
        problems.append(
            FieldProblem(
                "model",
                f"{value} cannot chain: each next segment starts from an image, and it has no "
                f"image_to_video with set durations; chains take {', '.join(chainable)}",
            )
        )
        return None
    if raw.get("promptImage") is None and Endpoint.TEXT_TO_VIDEO not in model.endpoints:
        problems.append(
            FieldProblem("promptImage", f"required: {value} has no text_to_video for segment 1")
        )
    return model


def _total(value: object, problems: list[FieldProblem]) -> float | None:
    if value is None:
        return None  # the sum of segmentDurations, or a problem there
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(FieldProblem("duration", f"must be a number of seconds, got {value!r}"))
        return None
    if not 0 < value <= CHAIN_MAX_SECONDS:
        problems.append(
            FieldProblem(
                "duration", f"a chain is more than 0 and at most {CHAIN_MAX_SECONDS} s, got {value}"
            )
        )
        return None
    return float(value)


def _first_image(value: object, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(
            FieldProblem("promptImage", "must be one image URI, the first frame of the chain")
        )
        return None
    return value


def _durations(
    model: Model,
    allowed: tuple[int, ...],
    given: object,
    total: float | None,
    raw_total: object,
    problems: list[FieldProblem],
) -> tuple[int, ...]:
    spoken = ", ".join(str(v) for v in allowed)
    if given is None:
        if total is None:
            if raw_total is not None:
                return ()  # already named as a bad duration
            problems.append(FieldProblem("duration", "required: the chain's length in seconds"))
            return ()
        return plan_segments(allowed, total)
    if not isinstance(given, list) or not given:
        problems.append(
            FieldProblem("segmentDurations", "must be a non-empty array of whole seconds")
        )
        return ()
    found: list[int] = []
    for index, value in enumerate(given):
        ok = isinstance(value, int) and not isinstance(value, bool) and value in allowed
        if not ok:
            problems.append(
                FieldProblem(
                    f"segmentDurations[{index}]", f"{model.id} accepts {spoken}, got {value!r}"
                )
            )
        else:
            found.append(value)
    if len(found) != len(given):
        return ()
    if sum(found) > CHAIN_MAX_SECONDS:
        problems.append(
            FieldProblem(
                "segmentDurations",
                f"add up to {sum(found)} s; a chain is at most {CHAIN_MAX_SECONDS} s",
            )
        )
        return ()
    if total is not None and sum(found) < total:
        problems.append(
            FieldProblem(
                "segmentDurations", f"add up to {sum(found)} s, less than the duration {total:g} s"
            )
        )
        return ()
    return tuple(found)


def _prompts(
    raw: Mapping[str, Any], count: int, problems: list[FieldProblem]
) -> tuple[Any, ...] | None:
    one, many = raw.get("promptText"), raw.get("promptTexts")
    if one is not None and many is not None:
        problems.append(FieldProblem("promptTexts", "give promptText or promptTexts, not both"))
        return None
    if many is None:
        return (one,) * count  # a non-string is named by the segment check
    if not isinstance(many, list) or not many:
        problems.append(FieldProblem("promptTexts", "must be a non-empty array of prompts"))
        return None
    if count and len(many) != count:
        problems.append(
            FieldProblem(
                "promptTexts",
                f"the chain has {count} segments; give one prompt per segment, got {len(many)}",
            )
        )
        return None
    return tuple(many)


def _segment_problems(
    plan: ChainPlan, raw: Mapping[str, Any], catalog: Catalog
) -> list[FieldProblem]:
    """Each distinct segment body through the endpoint's own validator, paths mapped back."""
    problems: list[FieldProblem] = []
    per_segment_prompts = raw.get("promptTexts") is not None
    checked: set[tuple[Endpoint, int, str | None]] = set()
    for index in range(plan.count):
        endpoint = plan.endpoint(index)
        key = (endpoint, plan.durations[index], plan.prompts[index] if per_segment_prompts else "")
        if index > 0 and key in checked:
            continue  # the same body as a segment already checked, but for the frame
        checked.add(key)
        image = plan.first_image if index == 0 else _FRAME_PLACEHOLDER
        body = plan.segment_body(index, image, catalog=catalog)
        try:
            validate_request(endpoint.value, body, catalog=catalog)
        except ValidationFailed as exc:
            for problem in exc.problems:
                problems.append(_mapped(problem, index, per_segment_prompts, raw))
    return problems


def _spec(catalog: Catalog, model: str, endpoint: Endpoint) -> EndpointSpec:
    return catalog.model(model).endpoints[endpoint]


def _mapped(
    problem: FieldProblem, index: int, per_segment_prompts: bool, raw: Mapping[str, Any]
) -> FieldProblem:
    path = problem.path
    where = f" (segment {index + 1})"
    if path == "promptText" and per_segment_prompts:
        return FieldProblem(f"promptTexts[{index}]", problem.message)
    if path == "duration":
        field = "segmentDurations" if raw.get("segmentDurations") is not None else "duration"
        target = f"{field}[{index}]" if field == "segmentDurations" else field
        return FieldProblem(target, problem.message + where)
    if path.startswith("promptImage"):
        return FieldProblem("promptImage", problem.message)
    return FieldProblem(path, problem.message)


def _unique(problems: list[FieldProblem]) -> list[FieldProblem]:
    seen: set[tuple[str, str]] = set()
    kept: list[FieldProblem] = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
