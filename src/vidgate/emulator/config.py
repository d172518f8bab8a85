"""The emulator's knobs, declared once: timings, faults, limits, credits and the test host map.

The same names are used everywhere: camelCase on the control endpoint (``POST /_emulator/config``)
and in :meth:`EmulatorServer.control`, snake_case in Python, ``--kebab-case`` flags with a
``VIDGATE_EMULATOR_*`` variable on the command line. A change applies to tasks created after it;
tasks keep the timings and outcome they were given when created.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from vidgate.catalog import get_catalog
from vidgate.errors import FieldProblem, ValidationFailed

__all__ = [
    "DEFAULT_FAILURE_CODE",
    "FAILURE_TEXTS",
    "STARTUP_ONLY",
    "EmulatorConfig",
    "failure_text",
]

DEFAULT_FAILURE_CODE: Final = "INTERNAL.BAD_OUTPUT.CODE01"

# Human text per failure-code family, as Runway's task-failure docs describe each; longest prefix
# wins, so "SAFETY.INPUT.TEXT" finds "SAFETY.INPUT" before "SAFETY".
FAILURE_TEXTS: Final[dict[str, str]] = {
    "SAFETY.INPUT.TEXT": "The prompt text did not pass content moderation.",
    "SAFETY.INPUT.IMAGE": "An input image did not pass content moderation.",
    "SAFETY.INPUT.VIDEO": "An input video did not pass content moderation.",
    "SAFETY.INPUT.AUDIO": "An input audio clip did not pass content moderation.",
    "SAFETY.INPUT": "An input did not pass content moderation.",
    "SAFETY.OUTPUT": "The generated video did not pass content moderation.",
    "SAFETY": "The task did not pass content moderation.",
    "INTERNAL.BAD_OUTPUT": (
        "The generated video was rejected by a quality check. Text or graphics overlaid on the "
        "input image often cause this; retrying may not help."
    ),
    "INPUT_PREPROCESSING.SAFETY.TEXT": "The prompt was rejected by input moderation.",
    "INPUT_PREPROCESSING.INTERNAL": "Input moderation could not be completed; try again.",
    "INPUT_PREPROCESSING": "The inputs could not be preprocessed.",
    "ASSET.INVALID": "An input asset is invalid or could not be processed.",
    "INTERNAL": "An internal error occurred; try again.",
}

STARTUP_ONLY: Final = frozenset({"output_dir", "render_workers", "state_file"})
"""Knobs fixed when the emulator starts; the control endpoint refuses to change them."""

_RATES: Final = ("fail_rate", "http429_rate", "http5xx_rate", "drop_connection_rate")


def failure_text(code: str) -> str:
    """The human ``failure`` text that goes with a ``failureCode``."""
    parts = code.split(".")
    for end in range(len(parts), 0, -1):
        text = FAILURE_TEXTS.get(".".join(parts[:end]))
        if text:
            return text
    return f"The task failed ({code})."


class EmulatorConfig(BaseModel):
    """Every knob of the emulator. Defaults give a well-behaved, Tier-3-like organization."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    # --- timings ----------------------------------------------------------------------------
    task_seconds: float = Field(
        5.0, ge=0, description="How long a task is RUNNING (progress 0 -> 1)."
    )
    pending_seconds: float = Field(
        0.5, ge=0, description="How long a task is PENDING once it has a concurrency slot."
    )
    throttle_seconds: float = Field(
        0.0, ge=0, description="Extra THROTTLED time every new task spends before it may start."
    )
    # --- task outcome -----------------------------------------------------------------------
    fail_rate: float = Field(0.0, ge=0, le=1, description="Share of new tasks that end FAILED.")
    failure_code: str = Field(
        DEFAULT_FAILURE_CODE,
        min_length=1,
        description="failureCode of failing tasks (e.g. SAFETY.INPUT.TEXT); the failure text "
        "follows the code.",
    )
    # --- HTTP faults on /v1 -------------------------------------------------------------------
    http429_rate: float = Field(
        0.0, ge=0, le=1, description="Share of API requests answered 429 (the SDK retries them)."
    )
    http5xx_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        alias="http5xxRate",
        description="Share of API requests answered 503 (the SDK retries them).",
    )
    drop_connection_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of API requests whose connection is closed mid-response.",
    )
    create_answer_seconds: float = Field(
        0.0,
        ge=0,
        le=60,
        description="Seconds a create waits after making its task before it answers (a slow "
        "create: the window in which a killed client cannot know the outcome).",
    )
    seed: int | None = Field(
        None, description="Seed of the fault and failure RNG (None: unpredictable)."
    )
    # --- outputs ------------------------------------------------------------------------------
    download_bytes_per_second: float | None = Field(
        None, gt=0, description="Throttle output downloads to this rate (None: full speed)."
    )
    truncate_downloads: bool = Field(
        False,
        description="Send half the bytes an output download promises, then close the connection.",
    )
    output_ttl_seconds: float = Field(
        86_400.0,
        ge=0,
        description="Lifetime of a signed output URL (403 after it; 0: expired when signed).",
    )
    fps: int = Field(24, ge=1, le=60, description="Frame rate of rendered outputs.")
    # --- organization -------------------------------------------------------------------------
    credit_balance: int = Field(
        1_000_000, ge=0, description="Credits of the organization; setting it replaces the balance."
    )
    max_monthly_credit_spend: int = Field(
        200_000, ge=0, description="tier.maxMonthlyCreditSpend reported by /v1/organization."
    )
    default_concurrency: int | None = Field(
        5, ge=1, description="maxConcurrentGenerations of every model not in `concurrency`."
    )
    default_daily_limit: int | None = Field(
        2_000, ge=1, description="maxDailyGenerations of every model not in `dailyLimit`."
    )
    concurrency: dict[str, int | None] = Field(
        default_factory=dict,
        description="maxConcurrentGenerations by model (null: unlimited); replaces the map.",
    )
    daily_limit: dict[str, int | None] = Field(
        default_factory=dict,
        description="maxDailyGenerations by model in a rolling 24 h (null: unlimited); "
        "replaces the map.",
    )
    synthetic_credits_per_second: float = Field(
        10.0,
        gt=0,
        description="Emulator-only rate for models whose price the catalog does not know "
        "(synthetic, not Runway's).",
    )
    # --- inputs -------------------------------------------------------------------------------
    host_map: dict[str, str] = Field(
        default_factory=dict,
        description="Test-only: https media hosts served from another base URL, e.g. "
        '{"media.example.com": "http://127.0.0.1:8123"}; other hosts fail like an unreachable '
        "fetch.",
    )
    fetch_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of each media URL fetch.")
    upload_ttl_seconds: float = Field(
        86_400.0, gt=0, description="How long runway:// upload URIs stay valid."
    )
    allow_legacy: bool = Field(
        True, description="Accept legacy models the SDK dropped (veo3, gen4_aleph)."
    )
    api_key: str | None = Field(
        None, description="The only accepted API key (None: any Bearer token is accepted)."
    )
    # --- start-up only ------------------------------------------------------------------------
    output_dir: Path | None = Field(
        None,
        description="Where outputs are rendered and uploaded files kept (None: a temporary "
        "directory).",
    )
    render_workers: int = Field(2, ge=1, le=32, description="Threads rendering outputs.")
    state_file: Path | None = Field(
        None,
        description="SQLite file keeping tasks, uploads and credits across restarts (None: "
        "in memory only); emulator mode uses DATA_DIR/emulator/state.db.",
    )

    @field_validator("concurrency", "daily_limit")
    @classmethod
    def _known_models(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        catalog = get_catalog()
        for model, limit in value.items():
            if model not in catalog:
                raise ValueError(f"unknown model {model!r}")
            if limit is not None and limit < 1:
                raise ValueError(f"{model}: must be at least 1 or null, got {limit}")
        return value

    @field_validator("host_map")
    @classmethod
    def _base_urls(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for host, base in value.items():
            if not base.startswith(("http://", "https://")):
                raise ValueError(f"{host}: the target must be an http(s) base URL, got {base!r}")
            cleaned[host.lower().rstrip(".")] = base.rstrip("/")
        return cleaned

    @model_validator(mode="after")
    def _rates_fit(self) -> EmulatorConfig:
        total = self.http429_rate + self.http5xx_rate + self.drop_connection_rate
        if total > 1:
            raise ValueError(
                f"http429Rate + http5xxRate + dropConnectionRate must not exceed 1, got {total:g}"
            )
        return self

    # --- derived ------------------------------------------------------------------------------

    def concurrency_of(self, model: str) -> int | None:
        return self.concurrency.get(model, self.default_concurrency)

    def daily_limit_of(self, model: str) -> int | None:
        return self.daily_limit.get(model, self.default_daily_limit)

    def public(self) -> dict[str, Any]:
        """The knobs as the control endpoint shows them (camelCase, JSON types)."""
        return self.model_dump(mode="json", by_alias=True)

    def updated(self, patch: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with ``patch`` (camelCase or snake_case keys) applied and checked.

        Raises ValidationFailed naming each bad knob; start-up-only knobs cannot change.
        """
        problems: list[FieldProblem] = []
        current = self.model_dump()
        merged = dict(current)
        fields = type(self).model_fields
        by_alias = {info.alias or name: name for name, info in fields.items()}
        for key, value in patch.items():
            name = key if key in fields else by_alias.get(key)
            if name is None:
                problems.append(FieldProblem(key, f"unknown knob; known: {_knob_list()}"))
            elif name in STARTUP_ONLY and value != current[name]:
                problems.append(FieldProblem(key, "can only be set when the emulator starts"))
            else:
                merged[name] = value
        if problems:
            raise ValidationFailed(problems)
        try:
            return type(self).model_validate(merged)
        except ValidationError as exc:
            raise _config_problems(exc) from None

    @classmethod
    def from_knobs(cls, knobs: Mapping[str, Any]) -> EmulatorConfig:
        """A config from knobs given by name (camelCase or snake_case); ValidationFailed if bad."""
        try:
            return cls.model_validate(dict(knobs))
        except ValidationError as exc:
            raise _config_problems(exc) from None


def _knob_list() -> str:
    return ", ".join(info.alias or name for name, info in EmulatorConfig.model_fields.items())


def _config_problems(exc: ValidationError) -> ValidationFailed:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc:
            info = EmulatorConfig.model_fields.get(loc[0])
            if info is not None and info.alias:
                loc[0] = info.alias
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(FieldProblem(".".join(loc), message))
    return ValidationFailed(problems)
