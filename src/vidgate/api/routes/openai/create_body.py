"""An OpenAI ``POST /videos`` body read and turned into the Runway body vidgate's intake takes.

The ``openai`` SDKs send the create as ``multipart/form-data`` (``input_reference`` may be a file);
other clients send JSON. Both are accepted. The mapping:

* ``model``: a vidgate model id (default ``gen4.5``); ``prompt`` -> ``promptText``;
* ``seconds`` -> ``duration`` (whole seconds); ``size`` ``WIDTHxHEIGHT`` -> ``ratio``
  ``WIDTH:HEIGHT`` (default ``720x1280``, OpenAI's);
* ``input_reference``: a file is put through vidgate's upload code (type sniffed, probed, handed
  to the provider, recorded as the caller's upload) and becomes ``promptImage``; a string is taken
  as ``promptImage`` itself (a runway:// URI, a data URI or an allowed https URL);
* any other field (the SDKs' ``extra_body``) is a Runway field, passed as it is; ``endpoint``
  picks the Runway endpoint (default ``image_to_video`` with an image, else ``text_to_video``).

Form fields are text: a field the model declares as a number, boolean or object is read as JSON
(``seed=5`` -> 5, ``audio=true`` -> true); text, choice and media fields stay text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from vidgate.api.deps import ApiContext
from vidgate.catalog import Endpoint
from vidgate.errors import FieldProblem, PayloadTooLarge, ValidationFailed
from vidgate.tenancy.uploads import upload_filename

__all__ = ["DEFAULT_MODEL", "DEFAULT_SIZE", "OpenAICreate", "read_create"]

DEFAULT_MODEL = "gen4.5"
#: OpenAI's default size.
DEFAULT_SIZE = "720x1280"
_OPENAI_FIELDS = ("prompt", "model", "seconds", "size", "input_reference", "endpoint")
_TEXT_TYPES = frozenset({"text", "choice", "string", "media"})
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_CHUNK = 1024 * 1024


class OpenAICreate:
    """A create as vidgate's intake takes it: the endpoint and the Runway body."""

    def __init__(self, endpoint: str, body: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.body = body


async def read_create(request: Request, ctx: ApiContext, owner: str | None) -> OpenAICreate:
    """The request's create, every problem with it named in one ValidationFailed."""
    content_type = request.headers.get("content-type", "")
    reference: UploadFile | None = None
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        fields: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "input_reference":
                    raise ValidationFailed.single(name, "only input_reference may be a file")
                reference = value
            else:
                fields[name] = value
        fields = _coerce(ctx, fields)
    else:
        raw = await request.body()
        try:
            loaded = json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            raise ValidationFailed.single("", f"the body is not valid JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise ValidationFailed.single("", "the body must be a JSON object or a form")
        fields = loaded
    problems: list[FieldProblem] = []
    body: dict[str, Any] = {k: v for k, v in fields.items() if k not in _OPENAI_FIELDS}
    body["model"] = fields.get("model") or DEFAULT_MODEL
    if "prompt" in fields:
        body["promptText"] = fields["prompt"]
    seconds = fields.get("seconds")
    if seconds is not None:
        try:
            body["duration"] = int(str(seconds))
        except ValueError:
            problems.append(FieldProblem("seconds", f"must be whole seconds, got {seconds!r}"))
    size = str(fields.get("size") or DEFAULT_SIZE)
    match = _SIZE.match(size)
    if match is None:
        problems.append(FieldProblem("size", f"must be WIDTHxHEIGHT, e.g. 1280x720, got {size!r}"))
    elif "ratio" not in body:
        body["ratio"] = f"{match.group(1)}:{match.group(2)}"
    given = fields.get("input_reference")
    if isinstance(given, str) and given:
        body["promptImage"] = given
    if problems:
        raise ValidationFailed(problems)
    if reference is not None:
        body["promptImage"] = await _upload(ctx, reference, owner)
    has_image = "promptImage" in body
    endpoint = fields.get("endpoint") or (
        Endpoint.IMAGE_TO_VIDEO.value if has_image else Endpoint.TEXT_TO_VIDEO.value
    )
    return OpenAICreate(str(endpoint), body)


def _coerce(ctx: ApiContext, fields: dict[str, Any]) -> dict[str, Any]:
    """Form text read as JSON where the model's field is not text."""
    specs: dict[str, str] = {}
    model = fields.get("model") or DEFAULT_MODEL
    if model in ctx.runtime.catalog:
        for spec in ctx.runtime.catalog.model(model).endpoints.values():
            specs.update({name: field.type for name, field in spec.fields.items()})
    coerced: dict[str, Any] = {}
    for name, value in fields.items():
        kind = specs.get(name)
        if name in _OPENAI_FIELDS or kind is None or kind in _TEXT_TYPES:
            coerced[name] = value
            continue
        try:
            coerced[name] = json.loads(value)
        except ValueError:
            coerced[name] = value  # "auto", say: the validator judges it
    return coerced


async def _upload(ctx: ApiContext, file: UploadFile, owner: str | None) -> str:
    """The runway:// URI of ``file``, uploaded once: a resend of the same bytes reuses it."""
    settings = ctx.runtime.settings
    directory = settings.data_dir / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="openai-", suffix=".part", dir=directory)
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as sink:
            while chunk := await file.read(_CHUNK):
                size += len(chunk)
                if size > settings.upload_max_bytes:
                    raise PayloadTooLarge(
                        f"input_reference: at most {settings.upload_max_bytes} bytes"
                    )
                digest.update(chunk)
                await asyncio.to_thread(sink.write, chunk)
        sha256 = digest.hexdigest()
        # The SDK's automatic retry sends the same bytes: the same upload, so the same body.
        key = f"openai-input:{sha256}"
        earlier = await ctx.uploads.find_ingested(owner=owner, request_key=key, source_url=key)
        if earlier is not None:
            return earlier.uri
        facts = await ctx.media.probe.inspect(path, field="input_reference")
        filename = upload_filename(file.filename, facts.mime_type)
        uri = await ctx.runtime.provider.upload(path, filename=filename)
        await ctx.uploads.create_upload(
            owner=owner,
            uri=uri,
            filename=filename,
            facts=facts,
            sha256=sha256,
            source_url=key,
            request_key=key,
        )
        return uri
    finally:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(path.unlink)
