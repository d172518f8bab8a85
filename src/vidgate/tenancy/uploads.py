"""Uploads: which model field an upload is for, its safe file name, and the upload records.

The bytes arrive through :mod:`vidgate.media.multipart` and are judged by
:meth:`vidgate.media.facts.MediaProbe.inspect`; what is kept here is the record of each file the
provider accepted (``uploads`` table) and the ``runway://`` URI it became.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.catalog import Catalog, Endpoint, FieldSpec
from vidgate.clock import utcnow
from vidgate.db.base import new_job_id
from vidgate.db.engine import Transactions
from vidgate.errors import MediaRejected, NotFound, ValidationFailed
from vidgate.jobs.models import NO_OWNER
from vidgate.media.facts import MediaFacts, field_kinds
from vidgate.tenancy.tables import Upload

__all__ = [
    "UPLOAD_TTL",
    "UploadPage",
    "UploadStore",
    "facts_of_upload",
    "target_field",
    "upload_filename",
]

#: How long a ``runway://`` URI stays usable (Runway's ephemeral uploads).
UPLOAD_TTL = timedelta(hours=24)
_CURSOR = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

# Extensions the provider's SDK reads the file type from, by sniffed type.
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
}


def target_field(
    catalog: Catalog,
    model_id: str,
    endpoint: str | None,
    field_name: str | None,
    kind: str,
) -> tuple[str, FieldSpec]:
    """The media field of ``model_id`` an upload of ``kind`` is meant for, with its limits.

    Without ``field_name``, the first field taking ``kind`` (a required one first) is chosen.
    Problems name the form fields ``model``, ``endpoint`` and ``field``.
    """
    if model_id not in catalog:
        raise ValidationFailed.single("model", f"unknown model {model_id!r}")
    model = catalog.model(model_id)
    if endpoint is not None:
        try:
            endpoints = [Endpoint(endpoint)]
        except ValueError:
            allowed = ", ".join(e.value for e in Endpoint)
            raise ValidationFailed.single("endpoint", f"must be one of {allowed}") from None
        if endpoints[0] not in model.endpoints:
            takes = ", ".join(e.value for e in model.endpoints)
            raise ValidationFailed.single(
                "endpoint", f"{model_id} is not offered on {endpoint} (it takes {takes})"
            )
    else:
        endpoints = list(model.endpoints)
    candidates: list[tuple[str, FieldSpec]] = []
    for ep in endpoints:
        for name, spec in model.endpoints[ep].fields.items():
            if field_name is not None and name != field_name:
                continue
            if kind in field_kinds(spec):
                candidates.append((name, spec))
    if not candidates:
        where = f" on {endpoint}" if endpoint else ""
        if field_name is not None:
            raise ValidationFailed.single(
                "field", f"{model_id}{where} has no field {field_name} taking a {kind}"
            )
        raise MediaRejected.single("file", f"{model_id}{where} takes no {kind} input")
    candidates.sort(key=lambda item: not item[1].required)
    return candidates[0]


def facts_of_upload(upload: Upload) -> MediaFacts:
    """What the upload record says of its file (as probed when it was uploaded)."""
    return MediaFacts(
        kind=upload.kind,
        mime_type=upload.mime_type,
        bytes=upload.bytes,
        width=upload.width,
        height=upload.height,
        duration_seconds=upload.duration_seconds,
    )


def upload_filename(filename: str | None, mime_type: str) -> str:
    """A safe base name whose extension matches the sniffed type (the SDK reads the extension)."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", base.rsplit(".", 1)[0] if "." in base else base)
    stem = stem.strip(" .")[:100] or "upload"
    extension = _EXTENSIONS.get(mime_type) or mimetypes.guess_extension(mime_type) or ".bin"
    return stem + extension


# --- the records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadPage:
    uploads: list[Upload]
    next_cursor: str | None


class UploadStore:
    """The ``uploads`` table: who uploaded what, and the ``runway://`` URI it became."""

    def __init__(self, engine: AsyncEngine) -> None:
        transactions = Transactions(engine)
        self._reading = transactions.reading
        self._writing = transactions.writing

    async def create_upload(
        self,
        *,
        owner: str | None,
        uri: str,
        filename: str | None,
        facts: MediaFacts,
        sha256: str,
        source_url: str | None = None,
        request_key: str | None = None,
        now: datetime | None = None,
    ) -> Upload:
        """Record an upload the provider accepted; it expires :data:`UPLOAD_TTL` from now."""
        now = now or utcnow()
        upload = Upload(
            id=new_job_id(),
            owner=owner or NO_OWNER,
            uri=uri,
            filename=filename,
            kind=facts.kind,
            mime_type=facts.mime_type,
            bytes=facts.bytes,
            sha256=sha256,
            width=facts.width,
            height=facts.height,
            duration_seconds=facts.duration_seconds,
            source_url=source_url,
            request_key=request_key,
            created_at=now,
            expires_at=now + UPLOAD_TTL,
        )
        async with self._writing() as session:
            session.add(upload)
        return upload

    async def get_upload(self, upload_id: str, owner: str | None = None) -> Upload:
        """The upload; :class:`NotFound` when missing or someone else's (``owner=None``: any)."""
        async with self._reading() as session:
            upload = await session.get(Upload, upload_id)
        if upload is None or (owner is not None and upload.owner != owner):
            raise NotFound(f"no upload {upload_id}")
        return upload

    async def list_uploads(
        self, owner: str | None, *, limit: int = 50, cursor: str | None = None
    ) -> UploadPage:
        """One page of uploads, newest first."""
        stmt = select(Upload).order_by(Upload.id.desc()).limit(limit + 1)
        if owner is not None:
            stmt = stmt.where(Upload.owner == owner)
        if cursor is not None:
            if not _CURSOR.match(cursor):
                raise ValidationFailed.single("cursor", "not a cursor returned by this API")
            stmt = stmt.where(Upload.id < cursor)
        async with self._reading() as session:
            uploads = list(await session.scalars(stmt))
        if len(uploads) > limit:
            return UploadPage(uploads[:limit], uploads[limit - 1].id)
        return UploadPage(uploads, None)

    async def find_by_uris(self, uris: Iterable[str]) -> dict[str, Upload]:
        """The newest upload record of each ``runway://`` URI that has one."""
        wanted = sorted(set(uris))
        if not wanted:
            return {}
        stmt = select(Upload).where(Upload.uri.in_(wanted)).order_by(Upload.id)
        async with self._reading() as session:
            return {upload.uri: upload for upload in await session.scalars(stmt)}

    async def find_ingested(
        self, *, owner: str | None, request_key: str, source_url: str, now: datetime | None = None
    ) -> Upload | None:
        """An unexpired upload ingested from ``source_url`` for the same idempotent request."""
        now = now or utcnow()
        stmt = (
            select(Upload)
            .where(
                Upload.owner == (owner or NO_OWNER),
                Upload.request_key == request_key,
                Upload.source_url == source_url,
                Upload.expires_at > now + timedelta(minutes=5),
            )
            .order_by(Upload.id.desc())
            .limit(1)
        )
        async with self._reading() as session:
            return await session.scalar(stmt)
