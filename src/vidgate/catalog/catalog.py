"""The model catalog: what each video model accepts, what it costs, and which to pick.

The facts live in ``models.toml`` beside this module (data, not code); this module loads them into
typed, immutable objects and answers questions about them: ``Catalog.model``,
``Catalog.estimate_cost``, ``Catalog.recommend``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from vidgate.catalog.specs import Endpoint, EndpointSpec, MediaKind, MediaKindLimits, Model
from vidgate.errors import NotFound, ValidationFailed

__all__ = [
    "DEFAULT_SECONDS",
    "Catalog",
    "CostEstimate",
    "Priority",
    "Recommendation",
    "UseCase",
    "get_catalog",
]


DEFAULT_SECONDS = 5.0


@dataclass(frozen=True)
class CostEstimate:
    """Credits a request may cost: ``low`` to ``high`` (equal when the table gives one price).

    ``known`` is False when the catalog has no price for the model; both bounds are then None.
    """

    model: str
    duration_seconds: float | None
    low: float | None
    high: float | None

    @property
    def known(self) -> bool:
        return self.low is not None

    def describe(self) -> str:
        if self.low is None or self.high is None:
            return "unknown"
        if self.low == self.high:
            return f"{self.low:g} credits"
        return f"{self.low:g}-{self.high:g} credits"


class UseCase(StrEnum):
    """What the caller wants to make, named as the seeds' selection guidance does."""

    TEXT = "text"  # a video from a prompt alone
    IMAGE = "image"  # animate a still image
    VIDEO = "video"  # edit or transform an existing video
    CHARACTER = "character"  # drive a character with a performance clip
    PRODUCT_AD = "product_ad"  # product ads / e-commerce, references


class Priority(StrEnum):
    """What matters most when several models fit."""

    QUALITY = "quality"
    COST = "cost"
    SPEED = "speed"
    LENGTH = "length"
    BALANCED = "balanced"


@dataclass(frozen=True)
class Recommendation:
    model: str
    endpoint: Endpoint
    reason: str
    estimate: CostEstimate


class Catalog:
    """Every model vidgate knows, loaded once from ``models.toml``."""

    def __init__(self, models: dict[str, Model], media: dict[MediaKind, MediaKindLimits]) -> None:
        self._models = models
        self.media = media

    @classmethod
    def from_toml(cls, text: str) -> Catalog:
        data = tomllib.loads(text)
        media = {
            MediaKind(kind): MediaKindLimits(**limits) for kind, limits in data["media"].items()
        }
        models: dict[str, Model] = {}
        for model_id, raw in data["models"].items():
            endpoints = {
                Endpoint(name): EndpointSpec(**spec)
                for name, spec in raw.items()
                if name in Endpoint.__members__.values()
            }
            attrs = {k: v for k, v in raw.items() if k not in endpoints}
            if isinstance(attrs.get("credits_per_second"), list):
                attrs["credits_per_second"] = tuple(attrs["credits_per_second"])
            models[model_id] = Model(id=model_id, endpoints=endpoints, **attrs)
        return cls(models, media)

    def limits_for(self, kind: str) -> MediaKindLimits | None:
        """The media limits of ``kind`` ("image", "video", "audio"); None for any other string."""
        try:
            return self.media[MediaKind(kind)]
        except (ValueError, KeyError):
            return None

    def models(self, *, include_legacy: bool = True) -> list[Model]:
        return [m for m in self._models.values() if include_legacy or not m.legacy]

    def model_ids(self, endpoint: Endpoint | None = None) -> list[str]:
        return [m.id for m in self._models.values() if endpoint is None or endpoint in m.endpoints]

    def model(self, model_id: str) -> Model:
        try:
            return self._models[model_id]
        except KeyError:
            raise NotFound(f"unknown model {model_id!r}") from None

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    def estimate_cost(
        self,
        model_id: str,
        *,
        duration: float | None = None,
        endpoint: Endpoint | str | None = None,
    ) -> CostEstimate:
        """Credits for ``duration`` seconds of ``model_id`` (cost per second x duration).

        With no duration, the longest the endpoint allows is assumed, as Runway bills ``auto``
        durations at the maximum up front.
        """
        model = self.model(model_id)
        if duration is not None and not (math.isfinite(duration) and duration > 0):
            raise ValidationFailed.single(
                "duration", f"must be a positive number of seconds, got {duration!r}"
            )
        if duration is None:
            specs = [model.endpoint(endpoint)] if endpoint else list(model.endpoints.values())
            maxima = [m for s in specs if (m := s.max_duration) is not None]
            duration = float(max(maxima)) if maxima else None
        cost = model.cost_range
        if cost is None or duration is None:
            return CostEstimate(model_id, duration, None, None)
        low, high = cost
        return CostEstimate(model_id, duration, _credits(low * duration), _credits(high * duration))

    def recommend(
        self,
        use_case: UseCase | str,
        *,
        priority: Priority | str = Priority.BALANCED,
        has_image: bool = False,
        duration: float | None = None,
        include_legacy: bool = False,
    ) -> Recommendation:
        """The seeds' model selection guidance as a function.

        Default gen4.5; on a budget gen4_turbo (needs an image) or veo3.1_fast; highest quality veo3
        where available (legacy), else veo3.1; video editing aleph2 (gen4_aleph's successor) or
        seedance2; product ads and clips over 10 s seedance2; characters act_two.
        """
        use = UseCase(use_case)
        prio = Priority(priority)
        long_clip = duration is not None and duration > 10
        if use is UseCase.CHARACTER:
            choice, why = "act_two", "act_two is the only character performance model."
        elif use is UseCase.VIDEO:
            if prio is Priority.LENGTH or long_clip:
                choice, why = "seedance2", "seedance2 edits video and handles inputs up to 15 s."
            else:
                choice, why = (
                    "aleph2",
                    "aleph2, the successor of gen4_aleph, is Runway's video editing model.",
                )
        elif use is UseCase.PRODUCT_AD or long_clip or prio is Priority.LENGTH:
            choice, why = (
                "seedance2",
                "seedance2 makes clips up to 15 s and takes reference images and video, "
                "which suits product ads.",
            )
        elif prio is Priority.COST or prio is Priority.SPEED:
            if has_image or use is UseCase.IMAGE:
                choice, why = "gen4_turbo", "gen4_turbo is the cheapest and fastest with an image."
            else:
                choice, why = (
                    "veo3.1_fast",
                    "veo3.1_fast is the budget choice without an image (gen4_turbo needs one).",
                )
        elif prio is Priority.QUALITY:
            if include_legacy and "veo3" in self:
                choice, why = "veo3", "veo3 gives the highest quality, at the highest price."
            else:
                choice, why = (
                    "veo3.1",
                    "veo3.1 is the highest quality model the current API offers (veo3 is legacy).",
                )
        else:
            choice, why = "gen4.5", "gen4.5 is the best balance of quality and cost."
        endpoint = _endpoint_for(use, has_image)
        model = self.model(choice)
        if endpoint not in model.endpoints:
            endpoint = next(iter(model.endpoints))
        spec = model.endpoints[endpoint]
        # Priced for the length asked (5 s, the seeds' default, when none), as the model allows it.
        allowed = spec.allowed_durations
        asked = duration if duration is not None else DEFAULT_SECONDS
        priced = float(min(allowed, key=lambda d: (abs(d - asked), -d))) if allowed else None
        estimate = self.estimate_cost(choice, duration=priced, endpoint=endpoint)
        return Recommendation(choice, endpoint, why, estimate)


def _endpoint_for(use: UseCase, has_image: bool) -> Endpoint:
    if use is UseCase.CHARACTER:
        return Endpoint.CHARACTER_PERFORMANCE
    if use is UseCase.VIDEO:
        return Endpoint.VIDEO_TO_VIDEO
    if use is UseCase.IMAGE or has_image:
        return Endpoint.IMAGE_TO_VIDEO
    return Endpoint.TEXT_TO_VIDEO


def _credits(value: float) -> float:
    # Whole credits where the product is whole; avoid float noise like 60.00000000001.
    rounded = round(value, 6)
    return float(math.floor(rounded)) if rounded.is_integer() else rounded


@cache
def get_catalog() -> Catalog:
    """The catalog shipped with vidgate."""
    text = resources.files("vidgate.catalog").joinpath("models.toml").read_text("utf-8")
    return Catalog.from_toml(text)
