"""The API's request and response bodies, as pydantic models: the OpenAPI spec is made from them.

Field names on the wire are camelCase, as in Runway's API (``estimatedCredits``,
``durationSeconds``); Python uses snake_case. Every error body is :class:`ErrorEnvelope`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from vidgate.catalog import Endpoint, Priority, UseCase
from vidgate.jobs.status import Status

__all__ = [
    "ApiIn",
    "ApiOut",
    "EndpointOut",
    "ErrorDetail",
    "ErrorEnvelope",
    "EstimateIn",
    "EstimateOut",
    "FieldError",
    "FieldOut",
    "GenerationEndpoint",
    "GenerationIn",
    "HealthOut",
    "JobAudio",
    "JobFailure",
    "JobLinks",
    "JobList",
    "JobOut",
    "JobOutput",
    "JobProvenance",
    "JobSigner",
    "ModelList",
    "ModelOut",
    "ReadyOut",
    "RecommendIn",
    "RecommendOut",
    "UploadList",
    "UploadOut",
]


class ApiOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", allow_inf_nan=False
    )


#: The base of every JSON body the API reads: camelCase, no unknown fields, no NaN or infinity.
ApiIn = _In


# --- errors -------------------------------------------------------------------------------------


class FieldError(ApiOut):
    path: str = Field(description="The field, by wire name: `promptImage[1].position`.")
    message: str


class ErrorDetail(ApiOut):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_failed`.")
    message: str = Field(description="What went wrong, for people.")
    fields: list[FieldError] | None = Field(
        None, description="Every bad field; only on 422 answers."
    )


class ErrorEnvelope(ApiOut):
    """The one shape of every error answer."""

    error: ErrorDetail


# --- generations --------------------------------------------------------------------------------


class GenerationEndpoint(StrEnum):
    """What ``POST /v1/generations`` accepts: Runway's four endpoints, and ``chain``."""

    TEXT_TO_VIDEO = Endpoint.TEXT_TO_VIDEO.value
    IMAGE_TO_VIDEO = Endpoint.IMAGE_TO_VIDEO.value
    VIDEO_TO_VIDEO = Endpoint.VIDEO_TO_VIDEO.value
    CHARACTER_PERFORMANCE = Endpoint.CHARACTER_PERFORMANCE.value
    CHAIN = "chain"  # several generations joined into one video (vidgate.pipeline.chain)


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

    endpoint: GenerationEndpoint = Field(
        description="Which Runway generation endpoint to use; `chain` joins several generations "
        "of one model into one long video (see docs/chaining.md)."
    )
    model: str = Field(description="A model id from GET /v1/models.")
    webhook_url: str | None = Field(
        None,
        alias="webhookUrl",
        description="An https URL to POST the job to, signed, when it ends (docs/webhooks.md); "
        "default: your key's webhook URL, if set.",
    )


class JobFailure(ApiOut):
    code: str | None = Field(None, description="Provider failureCode or vidgate's own code.")
    message: str | None = None


class JobAudio(ApiOut):
    """The output's sound track, as probed."""

    codec: str | None = None
    channels: int | None = None
    sample_rate: int | None = None
    duration_seconds: float | None = None


class JobSigner(ApiOut):
    """One signature in the output: its own manifest's, or an ingredient's."""

    manifest: str = Field(description="The manifest's label (urn:c2pa:...).")
    title: str | None = Field(None, description="The ingredient's title; null: the file itself.")
    issuer: str | None = None
    signer: str | None = None
    trusted: bool = Field(description="The signer is on a trust list vidgate was given.")
    trusted_by: str | None = Field(None, description="The list that vouches for the signer.")
    reason: str | None = Field(None, description="Why the signer is not trusted.")


class JobProvenance(ApiOut):
    """The output's C2PA content credentials, as vidgate read and verified them."""

    present: bool = Field(description="The file carries a C2PA manifest.")
    valid: bool = Field(description="Its signature and the hash over the file's bytes check out.")
    trusted: bool = Field(
        False, description="Valid, and its signer is on a trust list vidgate was given."
    )
    trust_reason: str | None = Field(
        None, description="Why not trusted, e.g. `signer not on the trust list (checked: ...)`."
    )
    trusted_by: str | None = Field(None, description="The list that vouches for the signer.")
    state: str | None = Field(None, description="c2pa's validation state: Invalid, Valid, Trusted.")
    issuer: str | None = Field(None, description="The signing certificate's organisation.")
    signer: str | None = None
    signed_at: str | None = None
    claim_generator: str | None = None
    ai_generated: bool = Field(False, description="An action declares trainedAlgorithmicMedia.")
    assertions: list[str] = Field(default_factory=list)
    ingredients: list[str] = Field(
        default_factory=list, description="What the file was made from (a chain's segments)."
    )
    failures: list[str] = Field(default_factory=list)
    signers: list[JobSigner] = Field(
        default_factory=list,
        description="Every signature: the file's own first, then its "
        "ingredients' (a chain's segments).",
    )
    error: str | None = None
    unsigned_reason: str | None = Field(
        None, description="Why vidgate did not sign a file it made itself (a joined chain)."
    )


class JobOutput(ApiOut):
    bytes: int | None = None
    sha256: str | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    content_type: str = "video/mp4"
    audio: JobAudio | None = Field(None, description="The sound track; null: no sound.")
    provenance: JobProvenance | None = None


class JobLinks(ApiOut):
    self_: str = Field(alias="self", description="This job.")
    video: str | None = Field(None, description="The video, once the job succeeded.")
    poster: str | None = Field(None, description="A JPEG still, once the job succeeded.")
    preview: str | None = Field(None, description="A short animated WebP, once made.")


class JobOut(ApiOut):
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
    parent_id: str | None = Field(None, description="The chain this job is a segment of.")
    segment_index: int | None = Field(None, description="Its place in that chain, from 0.")
    links: JobLinks


class JobList(ApiOut):
    data: list[JobOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


# --- uploads ------------------------------------------------------------------------------------


class UploadOut(ApiOut):
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


class UploadList(ApiOut):
    data: list[UploadOut]
    next_cursor: str | None = None


# --- models, estimates, recommendations ----------------------------------------------------------


class FieldOut(ApiOut):
    """One wire field of a model: its type, whether it is required, and its limits."""

    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: list[str | int] | None = None
    auto: bool = False
    default: int | bool | None = None
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


class EndpointOut(ApiOut):
    fields: dict[str, FieldOut]
    ratios: list[str]
    durations: list[int] = Field(description="Whole-second lengths allowed (empty: any/auto).")
    max_duration: int | None = None


class ModelOut(ApiOut):
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


class ModelList(ApiOut):
    data: list[ModelOut]


class EstimateIn(_In):
    """``{model, duration?}``; or a whole generation body (with ``endpoint``, ``chain`` too),
    checked as ``POST /v1/generations`` checks it and priced as the job would reserve."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=64)
    # strict: a number, never `true` (1 s) or `"5"`.
    duration: float | None = Field(
        None,
        gt=0,
        le=3600,
        strict=True,
        description="Seconds; default: the longest the model allows.",
    )
    endpoint: GenerationEndpoint | None = None


class EstimateOut(ApiOut):
    model: str
    duration_seconds: float | None
    low: float | None
    high: float | None
    known: bool
    description: str


class RecommendIn(_In):
    use_case: UseCase = UseCase.TEXT
    priority: Priority = Priority.BALANCED
    has_image: bool = Field(False, strict=True)
    duration: float | None = Field(None, gt=0, le=3600, strict=True)
    include_legacy: bool = Field(False, strict=True)


class RecommendOut(ApiOut):
    model: str
    endpoint: Endpoint
    reason: str
    estimate: EstimateOut


# --- health -------------------------------------------------------------------------------------


class HealthOut(ApiOut):
    status: str = "ok"
    mode: str = Field(description="`emulator` (no RUNWAYML_API_SECRET) or `runway`.")
    auth: str = Field(description="`keys` when API keys are required, `off` otherwise.")
    worker: bool = Field(description="Whether this process runs the job worker.")
    version: str


class ReadyOut(ApiOut):
    status: str = Field(
        "ready", description="`ready`, or `degraded` while the provider is down (reads still work)."
    )
    database: str = "ok"
    provider: str = Field(
        "ok",
        description="`ok`; `down` while new generations and uploads are refused (503 with "
        "Retry-After); `probing` once its retry time has come and the next call decides; "
        "`credentials_refused` while the provider refuses vidgate's API key.",
    )
