"""What the catalog says about one model: its endpoints, their fields and the media limits.

Typed, immutable views of ``models.toml`` (data, not code); :mod:`vidgate.catalog.catalog` loads
them and answers questions across models. ``MediaKind`` is the one list of media kinds every layer
reads.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vidgate.errors import ValidationFailed

__all__ = [
    "Endpoint",
    "EndpointSpec",
    "FieldSpec",
    "FieldType",
    "MediaKind",
    "MediaKindLimits",
    "Model",
    "Speed",
]


class Endpoint(StrEnum):
    """The four generation endpoints of Runway's API, by their wire path."""

    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_TO_VIDEO = "video_to_video"
    CHARACTER_PERFORMANCE = "character_performance"


class MediaKind(StrEnum):
    """What a media input (or file) is; members equal their wire strings ("image" == IMAGE)."""

    IMAGE = "image"  # a still picture (an animated GIF/WebP counts as an image too)
    VIDEO = "video"  # has a moving-picture stream, with or without sound
    AUDIO = "audio"  # sound only (cover art does not make it a video)


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
    auto: bool = False
    stated: bool = True
    default: int | bool | None = None  # boolean fields: the value when absent, where stated
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
    """Size limits and accepted MIME types for one kind of input media.

    ``data_uri_max_bytes`` caps the whole data URI as sent (encoded). ``max_pixels`` (per image or
    per video frame), ``max_seconds`` and ``max_frames`` are read from a file's headers before
    anything is decoded, so a small file declaring a huge picture is refused unread.
    """

    mime_types: tuple[str, ...]
    url_max_bytes: int
    data_uri_max_bytes: int
    upload_max_bytes: int
    # Other names clients and servers give an accepted type -> the accepted name it means.
    aliases: dict[str, str] = Field(default_factory=dict)
    max_pixels: int | None = None
    max_seconds: float | None = None
    max_frames: int | None = None

    def canonical(self, mime_type: str) -> str:
        """``mime_type`` (lower-case) under the name the probe reports for it."""
        lowered = mime_type.lower()
        return self.aliases.get(lowered, lowered)


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
