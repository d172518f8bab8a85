"""The one place that reads the environment.

Every setting is a ``VIDGATE_*`` variable (CLI flags override them), except the two the official
``runwayml`` SDK reads itself, ``RUNWAYML_API_SECRET`` and ``RUNWAYML_BASE_URL``, honoured exactly
as the SDK does: pointing vidgate at Runway, a staging host or an emulator is one variable.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vidgate.errors import ConfigurationError

__all__ = ["DEFAULTS", "Settings", "get_settings", "load_settings", "secrets_keys"]

DEFAULT_DATA_DIR = Path("var")


#: Settings given as comma-separated lists.
_LISTS = ("media_allowed_hosts", "allowed_hosts", "allowed_origins", "webhook_allowed_ports")


class Settings(BaseSettings):
    """vidgate's settings, each documented here and in docs/settings.md (kept in step by a test)."""

    model_config = SettingsConfigDict(env_prefix="VIDGATE_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Where the embedded default keeps its database and media; kept 0700, its "
        "files 0600 (checked at start-up).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the job store; default: SQLite at DATA_DIR/vidgate.db. "
        "postgresql://... switches to PostgreSQL.",
    )
    database_connections: int = Field(
        12,
        ge=2,
        le=200,
        description="PostgreSQL connections one process may open: two thirds for the job store, "
        "the rest for the step queue (procrastinate).",
    )
    storage_url: str | None = Field(
        None,
        description="Where finished videos are stored (file://, s3://, gs://, az://); "
        "default: file://DATA_DIR/media.",
    )
    host: str = Field("127.0.0.1", description="Address `vidgate serve` binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port `vidgate serve` listens on.")
    # NoDecode: the environment gives "a.com,b.com", not JSON.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the API answers to besides loopback names, the bound address "
        "and the address a connection arrived on (comma separated; `*.example.com` for "
        "subdomains, `*` for any). Other Host headers: 421.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins (`https://app.example.com`, comma separated) that may "
        "send state-changing requests and get CORS headers; the API's own origin always may. "
        "Others: 403.",
    )
    media_allowed_hosts: Annotated[list[str], NoDecode] = Field(
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
    output_max_bytes: int = Field(
        2 * 1024 * 1024 * 1024,
        gt=0,
        description="Largest finished output the worker downloads (to a local file, before it "
        "is stored); a larger one fails its job with DOWNLOAD_FAILED.",
    )
    probe_concurrency: int = Field(
        2,
        ge=1,
        description="Media files (uploads, ingested URLs, data URIs) probed at once; more wait. "
        "Bounds the memory a burst of large images or videos can take.",
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
        6 * 1024 * 1024,
        gt=0,
        description="Largest JSON request body the API reads: one data URI at its 5 MiB cap "
        "plus 1 MiB for the other fields (more media: upload them). Over it: 413.",
    )
    sdk_retry_window_seconds: float = Field(
        600.0,
        gt=0,
        description="How far back the original of an SDK's automatic retry may lie: a create on "
        "`/runway` or `/openai` that the SDK marks as its retry (`x-stainless-retry-count` >= 1) "
        "answers the caller's identical job made this recently (three attempts and their "
        "backoff fit).",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="The most a client may take to send a request's line and headers (from "
        "connecting, or from the previous answer); slower: disconnected.",
    )
    body_idle_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="The longest pause allowed while a request body arrives; longer: 408 and "
        "the connection closed (an upload's temporary file removed at once).",
    )
    max_connections: int = Field(
        512,
        ge=1,
        description="Connections one API process keeps open at once; a new one beyond closes "
        "the oldest idle connection of the address holding the most. With none idle: 503 "
        "(`/healthz` and `/readyz` are always answered).",
    )
    max_connections_per_peer: int = Field(
        128,
        ge=1,
        description="Connections one client address (an IPv6 /64) keeps open at once; a new one "
        "beyond closes that address's oldest idle connection. With none idle: 503. Behind a "
        "reverse proxy every connection is the proxy's: raise it to VIDGATE_MAX_CONNECTIONS.",
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
    worker_concurrency: int = Field(
        64,
        ge=1,
        description="Job steps one worker runs at once (`vidgate serve`'s own worker and "
        "`vidgate worker`; `--concurrency` overrides it for the latter).",
    )
    lease_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a worker's claim on a job lasts without a heartbeat; a dead "
        "worker's jobs are taken over after it.",
    )
    link_secret: SecretStr | None = Field(
        None,
        description="Secret that signs vidgate's public links (output URLs of the Runway and "
        "OpenAI surfaces, upload slots); unset: one made once and kept in DATA_DIR/link-secret. "
        "Set the same value on every API server that shares a database.",
    )
    output_link_seconds: float = Field(
        7 * 86400.0,
        gt=0,
        description="How long a signed output URL handed out by /runway stays valid (Runway's "
        "own last 24-48 h).",
    )
    secrets_key: SecretStr | None = Field(
        None,
        description="Key that seals the webhook signing secrets kept in the database: the "
        "base64 of 32 random bytes (`openssl rand -base64 32`), or several comma separated, the "
        "first sealing and all opening (to rotate); unset: one made once and kept in "
        "DATA_DIR/secrets-key. Set the same value on every process that shares a database.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Signing secret for webhooks of jobs no API key owns (auth off); unset: the "
        "one made by POST /v1/webhook/secret, kept in the database.",
    )
    webhook_allowed_ports: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [443],
        description="Ports webhook URLs may use (comma separated); the host must be a public "
        "name whatever the port.",
    )
    webhook_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=60,
        description="The most one webhook request may take, connection included; slower is a "
        "failed attempt.",
    )
    webhook_retry_base_seconds: float = Field(
        30.0, gt=0, description="The delay before a failed webhook's first retry; it doubles."
    )
    webhook_retry_max_delay_seconds: float = Field(
        6 * 3600.0, gt=0, description="The longest delay between two attempts of a webhook."
    )
    webhook_retry_for_seconds: float = Field(
        24 * 3600.0,
        gt=0,
        description="How long a failing webhook is retried, from its first attempt, before it "
        "is marked failed.",
    )
    webhook_poll_seconds: float = Field(
        1.0, gt=0, description="How often the webhook dispatcher looks for new events and retries."
    )
    provider_limits_refresh_seconds: float = Field(
        60.0,
        gt=0,
        description="How often the provider's tier limits (per-model concurrency and daily "
        "generations, GET /v1/organization) are read again; also the age of the credit balance "
        "GET /v1/usage shows.",
    )
    provider_limit_retry_seconds: float = Field(
        5.0,
        gt=0,
        description="How soon a job waiting for a free slot under its model's concurrency "
        "limit is looked at again.",
    )
    usage_reconcile_seconds: float = Field(
        300.0,
        gt=0,
        description="How often spend is compared with the provider's usage report (by day and "
        "model); a job whose create's answer was lost keeps its estimate reserved until a "
        "comparison at least this much later settles it.",
    )
    provider_down_after_failures: int = Field(
        3,
        ge=1,
        description="Provider calls failing in a row (5xx, dropped connection, timeout; not a "
        "429 or a refusal) that mark the provider down: new generations and uploads are then "
        "answered 503 with Retry-After, until a call succeeds.",
    )
    provider_down_window_seconds: float = Field(
        60.0,
        gt=0,
        description="Those failures count only within this many seconds of the first of them.",
    )
    provider_probe_seconds: float = Field(
        15.0,
        gt=0,
        description="While the provider is down, how long after its last failure new work is "
        "let through again to try it (longer if the provider's Retry-After says so); the 503s' "
        "Retry-After counts down to it.",
    )
    emulator_task_seconds: float = Field(
        5.0, ge=0, description="How long emulated tasks run in emulator mode."
    )
    c2pa_certificate: Path | None = Field(
        None,
        description="PEM certificate chain (signer first) that signs the C2PA manifest of each "
        "joined chain, listing its segments as ingredients; unset: joined chains are reported "
        "unsigned. See [provenance.md](provenance.md).",
    )
    c2pa_private_key: Path | None = Field(
        None,
        description="PEM private key of VIDGATE_C2PA_CERTIFICATE (EC P-256/384/521, Ed25519 or "
        "RSA); set both or neither.",
    )
    c2pa_trust_anchors: Path | None = Field(
        None,
        description="PEM file of trust anchors (root certificates) added to the C2PA trust list "
        "vidgate ships: outputs whose signer chains to one report `trusted: true`. In emulator "
        "mode, DATA_DIR/emulator/c2pa-root.pem trusts the emulator's signer.",
    )
    c2pa_allowed_signers: Path | None = Field(
        None,
        description="PEM file of signing certificates trusted as they are (pinned), whatever they "
        "chain to.",
    )
    log_format: Literal["human", "json"] = Field(
        "human",
        description="The log of `vidgate serve` and `vidgate worker` on stderr: `human` lines "
        "(time, level, logger, message) or `json`, one object per line with the same facts as "
        "fields. Signed links and secrets are cut out of every line, so it can be shared.",
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

    @field_validator(*_LISTS, mode="before")
    @classmethod
    def _split_list(cls, value: object, info: ValidationInfo) -> object:
        """A comma-separated variable as a list: host names and origins in their one form."""
        if not isinstance(value, str):
            return value
        items = [item.strip() for item in value.split(",") if item.strip()]
        if info.field_name == "allowed_origins":
            return [origin.lower().rstrip("/") for origin in items]
        if info.field_name == "webhook_allowed_ports":
            return items
        return [host.lower().rstrip(".") for host in items]

    @field_validator("webhook_allowed_ports")
    @classmethod
    def _check_ports(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= port <= 65535 for port in value):
            raise ValueError("give one or more ports from 1 to 65535")
        return value

    @field_validator("secrets_key")
    @classmethod
    def _check_secrets_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secrets_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _check_c2pa_pair(self) -> Settings:
        if (self.c2pa_certificate is None) != (self.c2pa_private_key is None):
            raise ValueError("VIDGATE_C2PA_CERTIFICATE and VIDGATE_C2PA_PRIVATE_KEY go together")
        for path in (self.c2pa_certificate, self.c2pa_private_key):
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a readable file")
        return self

    @property
    def emulator_mode(self) -> bool:
        """True when no Runway secret is set: vidgate then talks to its own emulator."""
        return self.runway_api_secret is None

    @property
    def resolved_database_url(self) -> str:
        default = f"sqlite+aiosqlite:///{(self.data_dir / 'vidgate.db').resolve()}"
        return self.database_url or default

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "media").resolve().as_uri()


def secrets_keys(text: str) -> list[bytes]:
    """The keys of a ``VIDGATE_SECRETS_KEY`` value (or of DATA_DIR/secrets-key), first first:
    each the base64 (standard or URL-safe) of 32 bytes. ValueError says what is wrong."""
    keys = []
    for item in text.split(","):
        item = item.strip().replace("+", "-").replace("/", "_")
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError("give the base64 of 32 random bytes (openssl rand -base64 32)")
        keys.append(key)
    return keys


#: Every setting at its declared default, whatever the environment says: what constructors of
#: stores and workers default to, so that no default is written twice.
DEFAULTS = Settings.model_construct()


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
