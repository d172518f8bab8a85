"""``vidgate doctor``: what works and what to fix before serving, one check at a time.

Each check answers ``ok``, ``warn`` (works, but look) or ``fail`` (blocks serving), with what it
saw and, when not ok, the fix. It changes nothing that matters: the database is not migrated, the
storage probe removes what it wrote, the provider is only asked for the organization (no credit
is spent).
"""

from __future__ import annotations

import asyncio
import enum
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import av
from sqlalchemy import text

from vidgate.clock import utcnow
from vidgate.db.dialect import is_sqlite
from vidgate.db.engine import create_engine
from vidgate.errors import ConfigurationError, ProviderCredentialsRefused, VidgateError
from vidgate.migrations import current_revision, head_revision
from vidgate.provider.runway import RunwayProvider
from vidgate.settings import Settings
from vidgate.storage import Storage

__all__ = ["Check", "CheckStatus", "blocks_serving", "run_checks"]

#: Below this much free space on the data directory's disk a job's download may fail.
_DISK_FAIL_BYTES = 512 * 1024**2
_DISK_WARN_BYTES = 5 * 1024**3
#: Signed links and webhook signatures carry times: a clock this far off breaks receivers' checks
#: (Standard Webhooks allows five minutes).
_CLOCK_WARN_SECONDS = 30.0
_CLOCK_FAIL_SECONDS = 240.0
_TIMEOUT_SECONDS = 15.0
#: What vidgate's media code asks of FFmpeg: reading outputs, joining chains, previews, posters.
_DECODERS = ("h264", "aac")
_ENCODERS = ("libx264", "aac", "libwebp", "mjpeg")


class CheckStatus(enum.StrEnum):
    OK = "ok"  #: works
    WARN = "warn"  #: works, but worth a look
    FAIL = "fail"  #: blocks serving until fixed


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    #: What the check saw.
    detail: str
    #: What to do about it (None when ok).
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


def blocks_serving(checks: list[Check]) -> bool:
    return any(check.status is CheckStatus.FAIL for check in checks)


async def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order an operator fixes things."""
    # Clocks the checks met on the way (the provider's, PostgreSQL's), for the clock check.
    clocks: list[tuple[str, datetime]] = []
    steps: list[tuple[str, Callable[[], Awaitable[Check]]]] = [
        ("runway key", lambda: _provider(settings, clocks)),
        ("database", lambda: _database(settings, clocks)),
        ("storage", lambda: _storage(settings)),
        ("codecs", _codecs),
        ("c2pa", lambda: _c2pa(settings)),
        ("disk", lambda: _disk(settings.data_dir)),
        ("clock", lambda: _clock(clocks)),
    ]
    checks = []
    for name, step in steps:
        try:
            async with asyncio.timeout(_TIMEOUT_SECONDS):
                checks.append(await step())
        except TimeoutError:
            checks.append(
                Check(name, CheckStatus.FAIL, f"no answer within {_TIMEOUT_SECONDS:g} s", None)
            )
    return checks


async def _provider(settings: Settings, clocks: list[tuple[str, datetime]]) -> Check:
    name = "runway key"
    if settings.runway_api_secret is None:
        return Check(
            name,
            CheckStatus.OK,
            "emulator mode: no RUNWAYML_API_SECRET, so videos are synthetic and free",
            None,
        )
    provider = RunwayProvider(
        api_key=settings.runway_api_secret.get_secret_value(),
        base_url=settings.runway_base_url,
        retry_attempts=1,
        retry_timeout=_TIMEOUT_SECONDS,
    )
    try:
        organization = await provider.organization()
    except ProviderCredentialsRefused as exc:
        return Check(
            name,
            CheckStatus.FAIL,
            f"{provider.base_url} refused the key: {exc}",
            "set RUNWAYML_API_SECRET to an API key of your organization "
            "(dev.runwayml.com > API Keys); a key of another environment needs its "
            "RUNWAYML_BASE_URL",
        )
    except VidgateError as exc:
        return Check(
            name,
            CheckStatus.WARN,
            f"could not ask {provider.base_url}: {exc}",
            "check the network path to Runway (and RUNWAYML_BASE_URL); jobs wait while it is down",
        )
    finally:
        await provider.aclose()
    if organization.server_time is not None:
        clocks.append(("the provider's Date header", organization.server_time))
    balance = organization.credit_balance
    detail = (
        f"accepted by {provider.base_url}; credit balance "
        f"{'unknown' if balance is None else f'{balance:g}'}; "
        f"tier limits for {len(organization.models)} models"
    )
    if balance is not None and balance <= 0:
        return Check(name, CheckStatus.WARN, detail, "buy credits: every create will be refused")
    return Check(name, CheckStatus.OK, detail, None)


async def _database(settings: Settings, clocks: list[tuple[str, datetime]]) -> Check:
    name = "database"
    url = settings.resolved_database_url
    shown = url.split("@")[-1] if "@" in url else url  # never the password
    engine = create_engine(url)
    try:
        sqlite = is_sqlite(engine)
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            if not sqlite:
                clocks.append(("PostgreSQL's now()", await conn.scalar(text("SELECT now()"))))
        current = await current_revision(engine)
    except Exception as exc:  # any driver's refusal is this check's finding
        return Check(
            name,
            CheckStatus.FAIL,
            f"cannot reach {shown}: {type(exc).__name__}: {exc}".splitlines()[0],
            "start the database or correct VIDGATE_DATABASE_URL",
        )
    finally:
        await engine.dispose()
    head = head_revision()
    kind = "SQLite" if sqlite else "PostgreSQL"
    if current == head:
        return Check(name, CheckStatus.OK, f"{kind} at {shown}, migrated ({head})", None)
    if current is None:
        return Check(
            name,
            CheckStatus.WARN,
            f"{kind} at {shown} reachable, never migrated",
            "run `vidgate migrate` (vidgate serve and worker also migrate when they start)",
        )
    return Check(
        name,
        CheckStatus.WARN,
        f"{kind} at {shown} at revision {current}, this vidgate's is {head}",
        "run `vidgate migrate`; a revision this vidgate does not know means a newer vidgate "
        "migrated it: upgrade this one",
    )


async def _storage(settings: Settings) -> Check:
    name = "storage"
    url = settings.resolved_storage_url
    probe = f"doctor/{uuid.uuid4().hex}"
    payload = uuid.uuid4().bytes * 64
    try:
        storage = Storage.from_url(url)
        await storage.save_bytes(probe, payload, content_type="application/octet-stream")
        try:
            read = b"".join([chunk async for chunk in await storage.open_range(probe)])
        finally:
            await storage.delete(probe)
    except (VidgateError, OSError) as exc:
        return Check(
            name,
            CheckStatus.FAIL,
            f"{url}: {exc}",
            "check VIDGATE_STORAGE_URL and the store's credentials and permissions",
        )
    if read != payload:
        return Check(name, CheckStatus.FAIL, f"{url}: read back other bytes than written", None)
    return Check(name, CheckStatus.OK, f"{url}: written, read back and removed", None)


async def _codecs() -> Check:
    missing = [f"decoder {c}" for c in _DECODERS if not _has_codec(c, "r")]
    missing += [f"encoder {c}" for c in _ENCODERS if not _has_codec(c, "w")]
    version = av.__version__
    if missing:
        return Check(
            "codecs",
            CheckStatus.FAIL,
            f"PyAV {version} lacks {', '.join(missing)}",
            "install vidgate's locked PyAV wheel (it bundles FFmpeg with these codecs)",
        )
    wanted = ", ".join([*_DECODERS, *(f"{c} (encode)" for c in _ENCODERS)])
    return Check("codecs", CheckStatus.OK, f"PyAV {version}: {wanted}", None)


def _has_codec(name: str, mode: Literal["r", "w"]) -> bool:
    try:
        av.Codec(name, mode)
    except Exception:  # PyAV raises UnknownCodecError (or ValueError in older releases)
        return False
    return True


async def _c2pa(settings: Settings) -> Check:
    try:
        import c2pa

        version = c2pa.sdk_version()
    except Exception as exc:  # a broken native library is this check's finding
        return Check(
            "c2pa",
            CheckStatus.WARN,
            f"c2pa-python does not load: {exc}",
            "reinstall vidgate's locked c2pa-python; provenance reports are off until then",
        )
    certificate, key = settings.c2pa_certificate, settings.c2pa_private_key
    signing = "signed" if certificate is not None and key is not None else "unsigned"
    trust, trust_problem = _trust(settings)
    detail = f"c2pa {version}; trusts {trust}; joined chains are {signing}"
    if trust_problem is not None:
        return Check(
            "c2pa",
            CheckStatus.FAIL,
            f"{detail}, but {trust_problem}",
            "point that setting at a readable PEM file of certificates, or unset it "
            "(vidgate serve refuses to start until then)",
        )
    if certificate is not None and key is not None:
        from vidgate.media.provenance import SigningIdentity

        try:
            SigningIdentity.from_files(certificate, key)
        except (ConfigurationError, OSError, ValueError) as exc:
            return Check(
                "c2pa",
                CheckStatus.FAIL,
                f"{detail}, but the signing identity does not load: {exc}",
                "check VIDGATE_C2PA_CERTIFICATE and VIDGATE_C2PA_PRIVATE_KEY",
            )
    return Check("c2pa", CheckStatus.OK, detail, None)


def _trust(settings: Settings) -> tuple[str, str | None]:
    """The trust lists signatures are checked against, told; and why the operator's do not load."""
    from vidgate.emulator.shared import trusted_root_pending
    from vidgate.media.c2pa_trust import ANCHORS_SETTING, load_trust, shipped_trust

    anchors, later = settings.c2pa_trust_anchors, ""
    if trusted_root_pending(settings):
        anchors, later = None, f", {ANCHORS_SETTING} (the emulator's root, once it has started)"
    try:
        return load_trust(anchors, settings.c2pa_allowed_signers).summary() + later, None
    except ConfigurationError as exc:
        return shipped_trust().summary() + later, str(exc)


async def _disk(data_dir: Path) -> Check:
    path, free = await asyncio.to_thread(_free_space, data_dir)
    detail = f"{free / 1024**3:.1f} GiB free under {path}"
    if free < _DISK_FAIL_BYTES:
        return Check("disk", CheckStatus.FAIL, detail, "free space: downloads need room")
    if free < _DISK_WARN_BYTES:
        return Check("disk", CheckStatus.WARN, detail, "free space before long videos fill it")
    return Check("disk", CheckStatus.OK, detail, None)


def _free_space(data_dir: Path) -> tuple[Path, int]:
    """The free bytes where ``data_dir`` is (or will be made)."""
    path = data_dir if data_dir.exists() else next(p for p in data_dir.parents if p.exists())
    return path, shutil.disk_usage(path).free


async def _clock(clocks: list[tuple[str, datetime]]) -> Check:
    """This machine's clock against the first other clock met (the provider's, PostgreSQL's)."""
    now = utcnow()
    if not clocks:
        return Check("clock", CheckStatus.OK, f"{now:%Y-%m-%d %H:%M:%S} UTC (no reference)", None)
    source, reference = clocks[0]
    skew = (now - reference).total_seconds()
    detail = f"{skew:+.1f} s from {source}"
    if abs(skew) > _CLOCK_FAIL_SECONDS:
        return Check("clock", CheckStatus.FAIL, detail, "synchronise the clock (NTP)")
    if abs(skew) > _CLOCK_WARN_SECONDS:
        return Check("clock", CheckStatus.WARN, detail, "synchronise the clock (NTP)")
    return Check("clock", CheckStatus.OK, detail, None)
