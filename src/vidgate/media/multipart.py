"""The streamed intake of one multipart upload: the file part to disk, never whole in memory.

A multipart body is parsed as it arrives (the push parser of python-multipart) and the file part
goes to a temporary file on disk in 1 MiB writes, hashed on the way. The size cap is checked on
every chunk, so an oversized body is refused as soon as it passes the cap, not after it has been
read. Every parser error is a 422 (:class:`~vidgate.errors.ValidationFailed`), never a 500. Form
fields, their names and the file's name are strict UTF-8 under the text rule
(:mod:`vidgate.media.text`): anything else is a 422 naming the field, never read as latin-1.

:class:`FormRules` says what a form may hold: by default an upload's (one part named ``file``, a
few short text fields); another surface's form (OpenAI's create: an optional ``input_reference``
file and text fields as large as a JSON body) names its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from vidgate.errors import MediaRejected, PayloadTooLarge, ValidationFailed
from vidgate.media.text import text_problem

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "FORM_OVERHEAD_BYTES",
    "UPLOAD_FORM",
    "FormRules",
    "ReceivedFile",
    "make_temp",
    "receive_multipart",
]

#: Bytes a multipart body may carry besides the file itself (boundaries, headers, form fields).
FORM_OVERHEAD_BYTES = 64 * 1024
_FIELD_MAX_BYTES = 1024
_MAX_PARTS = 16
_WRITE_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FormRules:
    """What one kind of form may hold besides its file's bytes."""

    #: The name of the part that may be a file.
    file_field: str = "file"
    #: A form without the file is refused (422 naming ``file_field``).
    file_required: bool = True
    #: Only a part sent with a file name is the file; without one it is a text field.
    by_filename: bool = False
    #: The largest text field.
    field_max_bytes: int = _FIELD_MAX_BYTES
    #: All text fields together, beyond :data:`FORM_OVERHEAD_BYTES` (0: only the per-field cap).
    fields_max_bytes: int = 0
    max_parts: int = _MAX_PARTS

    def body_max_bytes(self, file_max_bytes: int) -> int:
        """The largest whole body a form with a file of ``file_max_bytes`` may be."""
        return file_max_bytes + FORM_OVERHEAD_BYTES + self.fields_max_bytes

    def file_too_large(self, file_max_bytes: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"{self.file_field}: uploads may be at most {file_max_bytes} bytes")


#: An upload's form (``POST /v1/uploads``, the Runway surface's upload target).
UPLOAD_FORM = FormRules()


@dataclass
class ReceivedFile:
    """The file part of a multipart body, on disk, plus the small form fields sent with it."""

    path: Path
    filename: str | None
    bytes: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)
    #: False for a form whose file is optional and was not sent (``path`` is then empty).
    has_file: bool = True


class _FormReader:
    """Callbacks for python-multipart's push parser; raises the moment a limit is passed."""

    def __init__(self, sink: BinaryIO, max_bytes: int, rules: FormRules = UPLOAD_FORM) -> None:
        self.sink = sink
        self.max_bytes = max_bytes
        self.rules = rules
        self.field_bytes = 0
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
        if self._parts > self.rules.max_parts:
            raise ValidationFailed.single(
                "", f"a form may have at most {self.rules.max_parts} parts"
            )
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
        self._name = _text(options[b"name"], "", "a form field's name")
        wanted = self.rules.file_field
        named = self._name == wanted and not self.rules.by_filename
        if named or b"filename" in options:
            if self._name != wanted:
                raise ValidationFailed.single(
                    self._name, f"only the part named {wanted} may be a file"
                )
            if self.seen_file:
                raise ValidationFailed.single(wanted, "send one file per upload")
            self.seen_file = True
            self._is_file = True
            raw = options.get(b"filename")
            self.filename = _text(raw, wanted, "the file name") if raw is not None else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.file_bytes += end - start
            if self.file_bytes > self.max_bytes:
                raise self.rules.file_too_large(self.max_bytes)
            self.pending += data[start:end]
            return
        self._value += data[start:end]
        if len(self._value) > self.rules.field_max_bytes:
            raise ValidationFailed.single(
                self._name or "", f"form fields may be at most {self.rules.field_max_bytes} bytes"
            )
        self.field_bytes += end - start
        if self.rules.fields_max_bytes and self.field_bytes > self.rules.fields_max_bytes:
            raise PayloadTooLarge(
                f"form fields may be at most {self.rules.fields_max_bytes} bytes together"
            )

    def _part_end(self) -> None:
        if not self._is_file and self._name is not None:
            self.fields[self._name] = _text(bytes(self._value), self._name, "the value")

    def flush(self) -> None:
        """Write what is pending (run in a thread: disk writes and hashing)."""
        if self.pending:
            self.digest.update(self.pending)
            self.sink.write(self.pending)
            self.pending = bytearray()


def _text(raw: bytes, field: str, what: str) -> str:
    """Form bytes as text: strict UTF-8 (never guessed as latin-1) under the text rule."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed.single(
            field, f"{what} is not UTF-8 text (byte {exc.start})"
        ) from None
    problem = text_problem(text)
    if problem is not None:
        raise ValidationFailed.single(field, f"{what} {problem}")
    return text


def _boundary(content_type: str | None, file_field: str) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise ValidationFailed.single(
            file_field, f"send the upload as multipart/form-data with a part named {file_field}"
        )
    return options[b"boundary"]


async def receive_multipart(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    *,
    max_bytes: int,
    directory: Path,
    rules: FormRules = UPLOAD_FORM,
) -> ReceivedFile:
    """Stream a multipart body to a temporary file in ``directory``; the caller deletes it.

    Raises :class:`PayloadTooLarge` as soon as the file passes ``max_bytes`` (the rest of the body
    is never read) and :class:`ValidationFailed` for a malformed form or one without a file.
    """
    boundary = _boundary(content_type, rules.file_field)
    fd, path = await asyncio.to_thread(make_temp, directory)
    try:
        with os.fdopen(fd, "wb") as sink:
            reader = _FormReader(sink, max_bytes, rules)
            total = 0
            try:
                # The parser refuses a boundary over 256 bytes when it is built, not when it parses.
                parser = MultipartParser(boundary, reader.callbacks())
                async for chunk in chunks:
                    total += len(chunk)
                    if total > rules.body_max_bytes(max_bytes):
                        raise rules.file_too_large(max_bytes)
                    parser.write(chunk)
                    if len(reader.pending) >= _WRITE_CHUNK:
                        await asyncio.to_thread(reader.flush)
                parser.finalize()
            except FormParserError as exc:
                raise ValidationFailed.single(
                    "", f"the multipart body is malformed ({exc})"
                ) from exc
            await asyncio.to_thread(reader.flush)
        wanted = rules.file_field
        if not reader.seen_file and rules.file_required:
            raise ValidationFailed.single(
                wanted, f"required: a part named {wanted} holding the media"
            )
        if reader.seen_file and reader.file_bytes == 0:
            raise MediaRejected.single(wanted, "is empty")
        return ReceivedFile(
            path=path,
            filename=reader.filename,
            bytes=reader.file_bytes,
            sha256=reader.digest.hexdigest(),
            fields=reader.fields,
            has_file=reader.seen_file,
        )
    except BaseException:
        os.unlink(path)
        raise


def make_temp(directory: Path, prefix: str = "upload-") -> tuple[int, Path]:
    """A new temporary file in ``directory`` (made if missing): an open descriptor, its path."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=directory)
    return fd, Path(name)
