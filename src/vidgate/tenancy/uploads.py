"""Uploads: the streamed intake of one file, what the file really is, and the upload records.

The intake never holds a file in memory: a multipart body is parsed as it arrives (the push parser
of python-multipart) and the file part goes to a temporary file on disk in 1 MiB writes, hashed on
the way. The size cap is checked on every chunk, so an oversized body is refused as soon as it
passes the cap, not after it has been read. What the file is comes from its bytes (``sniff_mime``
and a full PyAV probe), never from its name or declared type. A model's input limits (length, size,
height) are checked against the probe, and again when an upload is later used in a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from vidgate.catalog import Catalog, Endpoint, FieldSpec
from vidgate.clock import utcnow
from vidgate.db.base import new_job_id
from vidgate.db.engine import Transactions
from vidgate.errors import MediaRejected, NotFound, PayloadTooLarge, ValidationFailed
from vidgate.jobs.models import NO_OWNER
from vidgate.media.probe import SNIFF_BYTES, MediaInfo, probe_media, sniff_mime
from vidgate.tenancy.tables import Upload

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "UPLOAD_TTL",
    "MediaFacts",
    "ReceivedFile",
    "UploadPage",
    "UploadStore",
    "inspect_file",
    "limit_problems",
    "receive_multipart",
    "target_field",
    "upload_filename",
]

#: How long a ``runway://`` URI stays usable (Runway's ephemeral uploads).
UPLOAD_TTL = timedelta(hours=24)
#: Bytes a multipart body may carry besides the file itself (boundaries, headers, form fields).
FORM_OVERHEAD_BYTES = 64 * 1024
_FIELD_MAX_BYTES = 1024
_MAX_PARTS = 16
_WRITE_CHUNK = 1024 * 1024
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


# --- the streamed intake ------------------------------------------------------------------------


@dataclass
class ReceivedFile:
    """The file part of a multipart body, on disk, plus the small form fields sent with it."""

    path: Path
    filename: str | None
    bytes: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader:
    """Callbacks for python-multipart's push parser; raises the moment a limit is passed."""

    def __init__(self, sink: BinaryIO, max_bytes: int) -> None:
        self.sink = sink
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self.seen_file = False
        self.pending = bytearray()  # file bytes not yet written (≤ one write chunk + one read)
        self.digest = hashlib.sha256()
        self._parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > _MAX_PARTS:
            raise ValidationFailed.single("", f"a form may have at most {_MAX_PARTS} parts")
        self._headers = {}
        self._name = None
        self._is_file = False
        self._value = bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).decode("latin-1").lower()] = bytes(
            self._header_value
        )
        self._header_field = bytearray()
        self._header_value = bytearray()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise ValidationFailed.single("", "every form part needs a form-data name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if self._name == "file" or b"filename" in options:
            if self._name != "file":
                raise ValidationFailed.single(self._name, "only the part named file may be a file")
            if self.seen_file:
                raise ValidationFailed.single("file", "send one file per upload")
            self.seen_file = True
            self._is_file = True
            raw = options.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.file_bytes += end - start
            if self.file_bytes > self.max_bytes:
                raise PayloadTooLarge(f"file: uploads may be at most {self.max_bytes} bytes")
            self.pending += data[start:end]
            return
        self._value += data[start:end]
        if len(self._value) > _FIELD_MAX_BYTES:
            raise ValidationFailed.single(
                self._name or "", f"form fields may be at most {_FIELD_MAX_BYTES} bytes"
            )

    def _part_end(self) -> None:
        if not self._is_file and self._name is not None:
            try:
                self.fields[self._name] = self._value.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed.single(self._name, "must be UTF-8 text") from None

    def flush(self) -> None:
        """Write what is pending (run in a thread: disk writes and hashing)."""
        if self.pending:
            self.digest.update(self.pending)
            self.sink.write(self.pending)
            self.pending = bytearray()


def _boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise ValidationFailed.single(
            "file", "send the upload as multipart/form-data with a part named file"
        )
    return options[b"boundary"]


async def receive_multipart(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    *,
    max_bytes: int,
    directory: Path,
) -> ReceivedFile:
    """Stream a multipart body to a temporary file in ``directory``; the caller deletes it.

    Raises :class:`PayloadTooLarge` as soon as the file passes ``max_bytes`` (the rest of the body
    is never read) and :class:`ValidationFailed` for a malformed form or one without a file.
    """
    boundary = _boundary(content_type)
    fd, path = await asyncio.to_thread(_make_temp, directory)
    try:
        with os.fdopen(fd, "wb") as sink:
            reader = _FormReader(sink, max_bytes)
            total = 0
            try:
                # In the try: the parser refuses some boundaries (over 256 bytes) when made.
                parser = MultipartParser(boundary, reader.callbacks())
                async for chunk in chunks:
                    total += len(chunk)
                    if total > max_bytes + FORM_OVERHEAD_BYTES:
                        raise PayloadTooLarge(f"file: uploads may be at most {max_bytes} bytes")
                    parser.write(chunk)
                    if len(reader.pending) >= _WRITE_CHUNK:
                        await asyncio.to_thread(reader.flush)
                parser.finalize()
            except FormParserError as exc:
                raise ValidationFailed.single(
                    "", f"the multipart body is malformed ({exc})"
                ) from exc
            await asyncio.to_thread(reader.flush)
        if not reader.seen_file:
            raise ValidationFailed.single("file", "required: a part named file holding the media")
        if reader.file_bytes == 0:
            raise MediaRejected.single("file", "is empty")
        return ReceivedFile(
            path=path,
            filename=reader.filename,
            bytes=reader.file_bytes,
            sha256=reader.digest.hexdigest(),
            fields=reader.fields,
        )
    except BaseException:
        os.unlink(path)
        raise


def _make_temp(directory: Path) -> tuple[int, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
    return fd, Path(name)


def _head_and_size(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES), os.fstat(handle.fileno()).st_size


# --- what the file is, and whether a model takes it --------------------------------------------


@dataclass(frozen=True)
class MediaFacts:
    """What is known of one media file, from a probe or from an upload record."""

    kind: str
    mime_type: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None

    @classmethod
    def of(cls, info: MediaInfo, size: int) -> MediaFacts:
        return cls(
            kind=info.kind.value,
            mime_type=info.mime_type,
            bytes=size,
            width=info.width,
            height=info.height,
            duration_seconds=info.duration_seconds,
        )

    @classmethod
    def of_upload(cls, upload: Upload) -> MediaFacts:
        return cls(
            kind=upload.kind,
            mime_type=upload.mime_type,
            bytes=upload.bytes,
            width=upload.width,
            height=upload.height,
            duration_seconds=upload.duration_seconds,
        )


async def inspect_file(path: Path, *, field: str, catalog: Catalog) -> MediaFacts:
    """Sniff and probe ``path``; MediaRejected (naming ``field``) unless Runway takes it."""
    head, size = await asyncio.to_thread(_head_and_size, path)
    if not head:
        raise MediaRejected.single(field, "is empty")
    if sniff_mime(head) is None:
        raise MediaRejected.single(
            field, "is not an image, video or audio file vidgate recognises (judged by its bytes)"
        )
    info = await asyncio.to_thread(probe_media, path, field=field)
    facts = MediaFacts.of(info, size)
    limits = catalog.media.get(facts.kind)  # type: ignore[call-overload]
    if limits is None or facts.mime_type not in limits.mime_types:
        accepted = ", ".join(limits.mime_types) if limits else "image, video or audio"
        raise MediaRejected.single(
            field, f"is {facts.mime_type}, which Runway does not accept (accepted: {accepted})"
        )
    if facts.bytes > limits.upload_max_bytes:
        raise MediaRejected.single(
            field, f"{facts.kind} uploads may be at most {limits.upload_max_bytes} bytes"
        )
    return facts


def _field_kinds(spec: FieldSpec) -> tuple[str, ...]:
    if spec.type == "frames":
        return ("image",)
    if spec.type == "typed_media":
        return spec.types
    if spec.type in ("media", "media_list"):
        return (spec.kind or ("video" if spec.type == "media" else "image"),)
    if spec.type == "keyframes":
        return ("image",)
    return ()


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
            if kind in _field_kinds(spec):
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


def limit_problems(path: str, spec: FieldSpec, facts: MediaFacts, model_id: str) -> list[str]:
    """Every way ``facts`` breaks the input limits of the field ``spec`` (empty: it fits)."""
    kinds = _field_kinds(spec)
    if kinds and facts.kind not in kinds:
        return [f"{model_id} wants {' or '.join(kinds)} here, got {facts.kind} ({facts.mime_type})"]
    problems: list[str] = []
    seconds = facts.duration_seconds
    if spec.max_bytes is not None and facts.bytes > spec.max_bytes:
        problems.append(
            f"{model_id} takes at most {spec.max_bytes / 1048576:g} MB here, "
            f"got {facts.bytes / 1048576:.1f} MB"
        )
    if spec.max_seconds is not None and seconds is not None and seconds > spec.max_seconds + 0.05:
        problems.append(
            f"{model_id} takes at most {spec.max_seconds:g} s here, got {seconds:.1f} s"
        )
    if spec.min_seconds is not None and seconds is not None and seconds < spec.min_seconds - 0.05:
        problems.append(
            f"{model_id} needs at least {spec.min_seconds:g} s here, got {seconds:.1f} s"
        )
    if spec.min_height is not None and facts.height is not None and facts.height < spec.min_height:
        problems.append(f"{model_id} needs at least {spec.min_height}p here, got {facts.height}p")
    if facts.width and facts.height:
        side = min(facts.width, facts.height)
        if spec.min_side is not None and side < spec.min_side:
            problems.append(
                f"{model_id} needs at least {spec.min_side} px per side, "
                f"got {facts.width}x{facts.height}"
            )
        aspect = facts.width / facts.height
        if spec.min_aspect is not None and aspect < spec.min_aspect:
            problems.append(f"{model_id} needs an aspect ratio of at least {spec.min_aspect:g}")
        if spec.max_aspect is not None and aspect > spec.max_aspect:
            problems.append(f"{model_id} needs an aspect ratio of at most {spec.max_aspect:g}")
    return problems


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
