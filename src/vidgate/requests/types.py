"""What a validated generation request is: its media inputs and the request itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vidgate.catalog import Endpoint, EndpointSpec, FieldSpec, MediaKind

__all__ = ["GenerationRequest", "MediaInput"]


@dataclass(frozen=True)
class MediaInput:
    """One media reference in a request: where it sits, what it must be, and its limits."""

    path: str
    uri: str
    kind: MediaKind
    spec: FieldSpec

    @property
    def scheme(self) -> str:
        return self.uri.split(":", 1)[0].lower()


@dataclass(frozen=True)
class GenerationRequest:
    """A request that passed every check for its model and endpoint; ``body`` is the wire body."""

    endpoint: Endpoint
    model: str
    body: dict[str, Any]
    media: tuple[MediaInput, ...] = ()
    spec: EndpointSpec | None = field(default=None, compare=False, repr=False)

    @property
    def duration_seconds(self) -> int | None:
        """The output length the request asks for; None when the model or the input decides."""
        value = self.body.get("duration")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is not None or "draftTaskId" in self.body:
            return None  # "auto", or an enhanced draft: the model or the draft decides
        duration_spec = self.spec.duration if self.spec else None
        return duration_spec.default if duration_spec else None

    @property
    def with_audio(self) -> bool:
        """Whether the output has sound: the request's ``audio``, else the model's stated default
        (off where the model takes no ``audio`` or the SDK states no default)."""
        value = self.body.get("audio")
        if isinstance(value, bool):
            return value
        audio_spec = self.spec.fields.get("audio") if self.spec else None
        return audio_spec is not None and audio_spec.default is True

    @property
    def ratio(self) -> str | None:
        value = self.body.get("ratio")
        return value if isinstance(value, str) else None

    @property
    def prompt_text(self) -> str | None:
        value = self.body.get("promptText")
        return value if isinstance(value, str) else None
