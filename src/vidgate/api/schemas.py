"""The API's request and response bodies, as pydantic models: the OpenAPI spec is made from them.

Field names on the wire are camelCase, as in Runway's API (``estimatedCredits``,
``durationSeconds``); Python uses snake_case. Every error body is :class:`ErrorEnvelope`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from vidgate.catalog import Endpoint, Priority, UseCase
from vidgate.jobs.status import Status

__all__ = [
    "EndpointOut",
    "ErrorDetail",
    "ErrorEnvelope",
    "EstimateIn",
    "EstimateOut",
    "FieldError",
    "FieldOut",
    "GenerationIn",
    "HealthOut",
    "JobFailure",
    "JobLinks",
    "JobList",
    "JobOut",
    "JobOutput",
    "ModelList",
    "ModelOut",
    "ReadyOut",
    "RecommendIn",
    "RecommendOut",
    "UploadList",
    "UploadOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", allow_inf_nan=False
    )


# --- errors -------------------------------------------------------------------------------------


class FieldError(_Out):
    path: str = Field(description="The field, by wire name: `promptImage[1].position`.")
    message: str


class ErrorDetail(_Out):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_failed`.")
    message: str = Field(description="What went wrong, for people.")
    fields: list[FieldError] | None = Field(
        None, description="Every bad field; only on 422 answers."
    )


class ErrorEnvelope(_Out):
    """The one shape of every error answer."""

    error: ErrorDetail


# --- generations --------------------------------------------------------------------------------


class GenerationIn(BaseModel):
    """A generation: the endpoint, the model, and the model's own fields (Runway's wire names)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": True,
            "examples": [
                {
                    "endpoint": "text_to_video",
                    "model": "gen4.5",
                    "promptText": "a lighthouse at dusk, waves rolling in",
                    "ratio": "1280:720",
                    "duration": 5,
                }
            ],
        },
    )

    endpoint: Endpoint = Field(description="Which Runway generation endpoint to use.")
    model: str = Field(description="A model id from GET /v1/models.")


class JobFailure(_Out):
    code: str | None = Field(None, description="Provider failureCode or vidgate's own code.")
    message: str | None = None


class JobOutput(_Out):
    bytes: int | None = None
    sha256: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    content_type: str = "video/mp4"


class JobLinks(_Out):
    self_: str = Field(alias="self", description="This job.")
    video: str | None = Field(None, description="The video, once the job succeeded.")
    poster: str | None = Field(None, description="A JPEG still, once the job succeeded.")


class JobOut(_Out):
    id: str
    status: Status
    endpoint: str
    model: str
    request: dict[str, Any] = Field(description="The validated body sent to the provider.")
    progress: float
    status_reason: str | None = None
    estimated_credits: float | None = Field(None, description="The most the job may cost.")
    cost_credits: float | None = Field(None, description="What the job cost, once known.")
    failure: JobFailure | None = None
    cancel_requested: bool = False
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    output: JobOutput | None = None
    links: JobLinks


class JobList(_Out):
    data: list[JobOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


# --- uploads ------------------------------------------------------------------------------------


class UploadOut(_Out):
    id: str
    uri: str = Field(description="The runway:// URI to put in a media field.")
    expires_at: datetime = Field(description="The URI is usable until then (24 h).")
    kind: str = Field(description="image, video or audio, judged from the bytes.")
    mime_type: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    filename: str | None = None
    created_at: datetime


class UploadList(_Out):
    data: list[UploadOut]
    next_cursor: str | None = None


# --- models, estimates, recommendations ----------------------------------------------------------


class FieldOut(_Out):
    """One wire field of a model: its type, whether it is required, and its limits."""

    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: list[str | int] | None = None
    auto: bool = False
    default: int | None = None
    kind: str | None = None
    max_items: int | None = None
    positions: list[str] | None = None
    types: list[str] | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None
    max_total_seconds: float | None = None
    max_bytes: int | None = None
    min_height: int | None = None
    min_side: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    deprecated: bool = False
    note: str | None = None


class EndpointOut(_Out):
    fields: dict[str, FieldOut]
    ratios: list[str]
    durations: list[int] = Field(description="Whole-second lengths allowed (empty: any/auto).")
    max_duration: int | None = None


class ModelOut(_Out):
    id: str
    label: str
    provider: str
    best_for: str
    speed: str
    credits_per_second: float | list[float] | None = Field(
        None, description="A price, a [low, high] range, or null when unknown."
    )
    legacy: bool = False
    legacy_note: str | None = None
    endpoints: dict[str, EndpointOut]


class ModelList(_Out):
    data: list[ModelOut]


class EstimateIn(_In):
    model: str = Field(min_length=1, max_length=64)
    duration: float | None = Field(
        None, gt=0, le=3600, description="Seconds; default: the longest the model allows."
    )
    endpoint: Endpoint | None = None


class EstimateOut(_Out):
    model: str
    duration_seconds: float | None
    low: float | None
    high: float | None
    known: bool
    description: str


class RecommendIn(_In):
    use_case: UseCase = UseCase.TEXT
    priority: Priority = Priority.BALANCED
    has_image: bool = False
    duration: float | None = Field(None, gt=0, le=3600)
    include_legacy: bool = False


class RecommendOut(_Out):
    model: str
    endpoint: Endpoint
    reason: str
    estimate: EstimateOut


# --- health -------------------------------------------------------------------------------------


class HealthOut(_Out):
    status: str = "ok"
    mode: str = Field(description="`emulator` (no RUNWAYML_API_SECRET) or `runway`.")
    auth: str = Field(description="`keys` when API keys are required, `off` otherwise.")
    worker: bool = Field(description="Whether this process runs the job worker.")
    version: str


class ReadyOut(_Out):
    status: str = "ready"
    database: str = "ok"
