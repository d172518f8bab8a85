"""The one place that reads the environment.

Every setting is a ``VIDGATE_*`` variable (CLI flags override them), except the two the official
``runwayml`` SDK reads itself: ``RUNWAYML_API_SECRET`` and ``RUNWAYML_BASE_URL``. vidgate honours
them exactly as the SDK does, so pointing vidgate at Runway, a staging host or an emulator is one
variable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidgate.errors import ConfigurationError

__all__ = ["Settings", "get_settings", "load_settings"]

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """vidgate's settings, each documented here and in docs/settings.md (kept in step by a test)."""

    model_config = SettingsConfigDict(env_prefix="VIDGATE_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Where the embedded default keeps its database and media."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the job store; default: SQLite at DATA_DIR/vidgate.db. "
        "postgresql://... switches to PostgreSQL.",
    )
    storage_url: str | None = Field(
        None,
        description="Where finished videos are stored (file://, s3://, gs://, az://); "
        "default: file://DATA_DIR/media.",
    )
    host: str = Field("127.0.0.1", description="Address `vidgate serve` binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port `vidgate serve` listens on.")
    media_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts whose https URLs are accepted in media fields (comma separated); "
        "empty: only runway:// and data URIs.",
    )
    media_ingest: bool = Field(
        False,
        description="Fetch allowed media URLs through vidgate's guarded transport and re-upload "
        "them, so the provider never fetches a URL a client chose.",
    )
    upload_max_bytes: int = Field(
        200 * 1024 * 1024, gt=0, description="Largest accepted upload (Runway's ephemeral cap)."
    )
    api_rate_per_second: float = Field(
        10.0,
        ge=0,
        description="Requests per second each API key may make on average (token bucket); "
        "0 turns the limit off. Over it: 429 with Retry-After.",
    )
    api_rate_burst: int = Field(
        40, ge=1, description="Requests an API key may make at once before the rate applies."
    )
    json_body_max_bytes: int = Field(
        48 * 1024 * 1024,
        gt=0,
        description="Largest JSON request body the API reads (data URIs count); over it: 413.",
    )
    poll_min_seconds: float = Field(
        1.0, gt=0, description="Shortest wait between two polls of one task."
    )
    poll_max_seconds: float = Field(
        30.0, gt=0, description="Longest wait between two polls of one task."
    )
    internal_retry_limit: int = Field(
        2, ge=0, description="New tasks tried after an INTERNAL failure before the job fails."
    )
    submit_concurrency: int = Field(
        4,
        ge=1,
        description="Upstream create calls a worker keeps in flight at once (each is a window "
        "in which a crash leaves the outcome unknown).",
    )
    lease_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a worker's claim on a job lasts without a heartbeat; a dead "
        "worker's jobs are taken over after it.",
    )
    emulator_task_seconds: float = Field(
        5.0, ge=0, description="How long emulated tasks run in emulator mode."
    )

    # Read under the SDK's own names, never with the VIDGATE_ prefix.
    runway_api_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("RUNWAYML_API_SECRET"),
        description="Runway API secret; unset: the embedded emulator is used.",
    )
    runway_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("RUNWAYML_BASE_URL"),
        description="Runway API base URL, as the official SDK reads it.",
    )

    @field_validator("media_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower().rstrip(".") for h in value.split(",") if h.strip()]
        return value

    @property
    def emulator_mode(self) -> bool:
        """True when no Runway secret is set: vidgate then talks to its own emulator."""
        return self.runway_api_secret is None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vidgate.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.data_dir / "media").resolve().as_uri()


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings; a bad one raises ConfigurationError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"VIDGATE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid setting: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
