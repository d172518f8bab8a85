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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vidgate.errors import NotFound, ValidationFailed

__all__ = [
    "Catalog",
    "CostEstimate",
    "Endpoint",
    "EndpointSpec",
    "FieldSpec",
    "MediaKindLimits",
    "Model",
    "Priority",
    "Recommendation",
    "UseCase",
    "get_catalog",
]


DEFAULT_SECONDS = 5.0


class Endpoint(StrEnum):
    """The four generation endpoints of Runway's API, by their wire path."""

    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_TO_VIDEO = "video_to_video"
    CHARACTER_PERFORMANCE = "character_performance"


FieldType = Literal[
    "text",
    "choice",
    "duration",
    "integer",
    "number",
    "boolean",
    "seed",
    "string",
    "media",
    "frames",
    "media_list",
    "typed_media",
    "content_moderation",
    "provider_settings",
    "keyframes",
]
MediaKind = Literal["image", "video", "audio"]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldSpec(_Data):
    """The rules for one wire field of one model on one endpoint."""

    type: FieldType
    required: bool = False
    # text: max length in UTF-16 code units
    max: float | None = None
    min: float | None = None
    # choice / duration: the allowed values
    values: tuple[str | int, ...] | None = None
    # duration: "auto" allowed; range given by the SDK (False: the bound is ours); default length
    # (boolean: the value when the field is absent, where the SDK states one)
    auto: bool = False
    stated: bool = True
    default: int | bool | None = None
    # media / media_list: the media kind; media_list items may carry a fixed "type"
    kind: MediaKind | None = None
    item_type: str | None = None
    untyped_items: bool = False
    max_items: int | None = None
    max_total_seconds: float | None = None
    # frames: a bare string allowed; allowed positions; items without position = reference images
    string: bool = False
    positions: tuple[str, ...] = ()
    position_optional: bool = False
    # typed_media: allowed types; clip length bounds
    types: tuple[str, ...] = ()
    min_seconds: float | None = None
    max_seconds: float | None = None
    # input media limits only the file can show (checked by the media probe, not by validation)
    max_bytes: int | None = None
    min_height: int | None = None
    min_side: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    # provider_settings: the sub-fields allowed
    keys: tuple[str, ...] = ()
    deprecated: bool = False
    # where a limit comes from when it is not the SDK
    note: str | None = None

    def describe(self) -> str:
        """What the field accepts, in a few words (for ``vidgate models MODEL``)."""
        parts: list[str] = []
        if self.values is not None:
            parts.append(", ".join(str(v) for v in self.values))
        elif self.type == "duration" and self.min is not None and self.max is not None:
            parts.append(f"{self.min:g}-{self.max:g} s" + ("" if self.stated else " (assumed)"))
        elif self.type == "text" and self.max is not None:
            parts.append(f"at most {self.max:g} characters")
        elif self.min is not None and self.max is not None:
            parts.append(f"{self.min:g}-{self.max:g}")
        if self.auto:
            parts.append("or auto")
        kind = self.kind or "image"
        if self.type == "media":
            parts.append(f"{kind} URI")
        elif self.type == "frames":
            shape = f"{{uri, position: {'|'.join(self.positions)}}}"
            if self.position_optional:
                shape += " (no position = reference image)"
            parts.append(f"image URI or [{shape}]" if self.string else f"[{shape}]")
        elif self.type == "media_list":
            item = f"{{type: {self.item_type}, uri}}" if self.item_type else "{uri}"
            parts.append(f"[{item}] " + ("audio clips" if kind == "audio" else f"{kind}s"))
        elif self.type == "typed_media":
            parts.append(f"{{type: {'|'.join(self.types)}, uri}}")
        elif self.type == "provider_settings":
            parts.append(f"{{{', '.join(self.keys)}}}")
        elif self.type == "keyframes":
            parts.append("[{seconds|at, uri, range?}]")
        elif self.type == "content_moderation":
            parts.append("{publicFigureThreshold: auto|low}")
        if self.max_items is not None:
            parts.append(f"at most {self.max_items}")
        if self.max_total_seconds is not None:
            parts.append(f"at most {self.max_total_seconds:g} s in total")
        if self.min_seconds is not None and self.max_seconds is not None:
            parts.append(f"each {self.min_seconds:g}-{self.max_seconds:g} s")
        elif self.max_seconds is not None:
            parts.append(f"at most {self.max_seconds:g} s")
        if self.max_bytes is not None:
            parts.append(f"at most {self.max_bytes // (1024 * 1024)} MB")
        if self.min_height is not None:
            parts.append(f"at least {self.min_height}p")
        if self.min_side is not None:
            parts.append(f"at least {self.min_side} px a side")
        if self.min_aspect is not None and self.max_aspect is not None:
            parts.append(f"aspect (w/h) {self.min_aspect:g}-{self.max_aspect:g}")
        if self.deprecated:
            parts.append("deprecated")
        return "; ".join(parts)

    @property
    def integer_values(self) -> tuple[int, ...] | None:
        """The allowed whole-second durations when the model takes a fixed set."""
        if self.values is None:
            return None
        return tuple(int(v) for v in self.values if isinstance(v, int))


class EndpointSpec(_Data):
    """What one model accepts on one endpoint."""

    fields: dict[str, FieldSpec]
    rules: tuple[str, ...] = ()
    # Field names the seed documents use that the real API lacks -> the field it wants ("" = none).
    renamed: dict[str, str] = Field(default_factory=dict)
    # Why a field is refused here, or what to send instead (added to the error message).
    hints: dict[str, str] = Field(default_factory=dict)

    @property
    def duration(self) -> FieldSpec | None:
        return self.fields.get("duration")

    @property
    def ratios(self) -> tuple[str, ...]:
        spec = self.fields.get("ratio")
        if spec is None or spec.values is None:
            return ()
        return tuple(str(v) for v in spec.values)

    @property
    def allowed_durations(self) -> tuple[int, ...]:
        """Every whole-second length this endpoint can produce (empty: the input decides)."""
        spec = self.duration
        if spec is None:
            return ()
        if spec.values is not None:
            return spec.integer_values or ()
        if spec.min is not None and spec.max is not None:
            return tuple(range(int(spec.min), int(spec.max) + 1))
        return ()

    @property
    def max_duration(self) -> int | None:
        durations = self.allowed_durations
        return max(durations) if durations else None


class MediaKindLimits(_Data):
    """Size limits and accepted MIME types for one kind of input media."""

    mime_types: tuple[str, ...]
    url_max_bytes: int
    data_uri_max_bytes: int
    upload_max_bytes: int


Speed = Literal["fast", "standard", "slow"]


class Model(_Data):
    """One video model: its endpoints, cost and what it is good for."""

    id: str
    label: str
    provider: str
    best_for: str
    speed: Speed
    credits_per_second: float | tuple[float, float] | None = None
    legacy: bool = False
    legacy_note: str | None = None
    endpoints: dict[Endpoint, EndpointSpec]

    @property
    def cost_known(self) -> bool:
        return self.credits_per_second is not None

    @property
    def cost_range(self) -> tuple[float, float] | None:
        cps = self.credits_per_second
        if cps is None:
            return None
        if isinstance(cps, tuple):
            return cps
        return (cps, cps)

    def endpoint(self, endpoint: Endpoint | str) -> EndpointSpec:
        """The model's rules on ``endpoint``; ValidationFailed names the endpoints it does take."""
        try:
            return self.endpoints[Endpoint(endpoint)]
        except (KeyError, ValueError):
            offered = ", ".join(sorted(self.endpoints))
            raise ValidationFailed.single(
                "endpoint", f"{self.id} is not offered on {endpoint}; it takes {offered}"
            ) from None

    @property
    def max_duration(self) -> int | None:
        maxima = [m for spec in self.endpoints.values() if (m := spec.max_duration) is not None]
        return max(maxima) if maxima else None


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
        media = {kind: MediaKindLimits(**limits) for kind, limits in data["media"].items()}
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
