"""The media fields of a generation request, checked (and in ingest mode, fetched) before storing.

:meth:`MediaPolicy.validate` runs ``validate_request`` and then, for every media reference:

1. :meth:`MediaPolicy.check` (pure, called by the validator, which has already applied the media
   URI rule of :mod:`vidgate.media.url_check`): an https URL must also pass
   :func:`~vidgate.media.url_check.check_media_url` against ``VIDGATE_MEDIA_ALLOWED_HOSTS``.
   Nothing is fetched or resolved yet.
2. A ``runway://`` URI must be one of the caller's own unexpired uploads (when API keys are on)
   and fit the field's limits (length, size, height); a data URI's bytes must be what it declares
   and pass the bounded probe an upload passes (:meth:`~vidgate.media.facts.MediaProbe.inspect`);
   an https host must resolve to public addresses only (resolved, never dialled).
3. Ingest mode (``VIDGATE_MEDIA_INGEST``): each https URL is fetched by vidgate through the guarded
   transport (which vets the address it dials) and accepted as any upload is
   (:meth:`~vidgate.intake.uploads.UploadIntake.accept`: probed, held to the field's limits,
   uploaded to the provider, recorded as the caller's upload), and replaced in the body by its
   ``runway://`` URI, so the provider never fetches a URL a client chose. With an
   Idempotency-Key, a retry reuses what the first try fetched, so the stored body (and its hash)
   is the same.

Every problem is collected and raised together as one :class:`ValidationFailed` (422).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from vidgate.catalog import Catalog
from vidgate.clock import utcnow
from vidgate.errors import FieldProblem, MediaRejected, PayloadTooLarge, ValidationFailed
from vidgate.intake.uploads import UploadIntake, UploadTarget
from vidgate.media.facts import limit_problems
from vidgate.media.guarded_fetch import (
    Resolver,
    fetch_media,
    guarded_client,
    host_problem,
    system_resolver,
)
from vidgate.media.multipart import ReceivedFile
from vidgate.media.url_check import check_data_uri, check_media_url
from vidgate.requests.generation import GenerationRequest, MediaInput, validate_request
from vidgate.settings import Settings
from vidgate.tenancy.uploads import facts_of_upload

__all__ = [
    "MediaPolicy",
    "set_at",
]

_RESOLVE_SECONDS = 5.0
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].lower() if ":" in uri else ""


def set_at(body: dict[str, Any], path: str, value: Any) -> None:
    """Replace the value at a validator path (``promptImage[0].uri``) in ``body``."""
    tokens: list[str | int] = [
        name if name else int(index) for name, index in _PATH_TOKEN.findall(path)
    ]
    if not tokens:
        raise ValueError(f"empty path {path!r}")
    target: Any = body
    for token in tokens[:-1]:
        target = target[token]
    target[tokens[-1]] = value


class MediaPolicy:
    """Applies the media URL policy of one running API (settings, the uploads it accepts)."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        uploads: UploadIntake,
        resolver: Resolver | None = None,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.uploads = uploads
        self._resolver = resolver or system_resolver
        self._client_factory = client_factory or (lambda: guarded_client(resolver=resolver))
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- 1. the pure check, inside validate_request ---------------------------------------------

    def check(self, media: MediaInput) -> str | None:
        """A message when ``media``'s reference breaks the URL policy; None when it passes."""
        if _scheme(media.uri) in ("runway", "data"):
            return None
        try:
            check_media_url(
                media.uri,
                field=media.path,
                allowed_hosts=self.settings.media_allowed_hosts,
                kind=media.kind,
                catalog=self.catalog,
            )
        except MediaRejected as exc:
            return "; ".join(p.message for p in exc.problems)
        return None

    # --- 2 and 3 ------------------------------------------------------------------------------

    async def validate(
        self,
        endpoint: str,
        raw: Mapping[str, Any],
        *,
        owner: str | None,
        auth_enabled: bool,
        idempotency_key: str | None = None,
    ) -> tuple[GenerationRequest, dict[str, Any]]:
        """Validate ``raw`` for ``endpoint`` with this policy; returns the request and the body
        to store (in ingest mode with fetched URLs replaced). One ValidationFailed names every
        problem: the validator's, the URL policy's, the uploads' and the hosts'."""
        seen: list[MediaInput] = []

        def check(media: MediaInput) -> str | None:
            seen.append(media)
            return self.check(media)

        problems: list[FieldProblem] = []
        request: GenerationRequest | None = None
        try:
            request = validate_request(endpoint, raw, catalog=self.catalog, check_media=check)
        except ValidationFailed as exc:
            problems += exc.problems
        refused = {p.path for p in problems}
        media = [m for m in seen if m.path not in refused]
        model = request.model if request else str(raw.get("model"))
        runway = [m for m in media if _scheme(m.uri) == "runway"]
        https = [m for m in media if _scheme(m.uri) == "https"]
        data = [m for m in media if _scheme(m.uri) == "data"]
        problems += await self._check_uploads(model, runway, owner, auth_enabled)
        problems += await self._check_data_uris(model, data)
        problems += await self._check_hosts(https)
        if problems or request is None:
            raise ValidationFailed(problems)
        if not https or not self.settings.media_ingest:
            return request, dict(request.body)
        body = _copy_body(request.body)
        for item in https:
            try:
                uri = await self._ingest(request.model, item, owner, idempotency_key)
            except ValidationFailed as exc:
                problems += [FieldProblem(item.path, p.message) for p in exc.problems]
                continue
            except PayloadTooLarge as exc:
                problems.append(FieldProblem(item.path, str(exc).removeprefix(f"{item.path}: ")))
                continue
            set_at(body, item.path, uri)
        if problems:
            raise ValidationFailed(problems)
        return request, body

    async def _check_uploads(
        self, model: str, media: list[MediaInput], owner: str | None, auth_enabled: bool
    ) -> list[FieldProblem]:
        if not media:
            return []
        records = await self.uploads.store.find_by_uris(m.uri for m in media)
        now = utcnow()
        problems: list[FieldProblem] = []
        for item in media:
            record = records.get(item.uri)
            if record is None or (owner is not None and record.owner != owner):
                if auth_enabled:
                    problems.append(
                        FieldProblem(
                            item.path, "is not one of your uploads; upload it with POST /v1/uploads"
                        )
                    )
                continue
            if record.expires_at <= now:
                problems.append(
                    FieldProblem(item.path, f"the upload {record.id} has expired; upload it again")
                )
                continue
            problems += [
                FieldProblem(item.path, message)
                for message in limit_problems(item.path, item.spec, facts_of_upload(record), model)
            ]
        return problems

    async def _check_data_uris(self, model: str, media: list[MediaInput]) -> list[FieldProblem]:
        """A data URI's bytes must be the type it declares and pass the upload's bounded probe."""
        problems: list[FieldProblem] = []
        for item in media:
            try:
                await self._check_data_uri(model, item)
            except (MediaRejected, ValidationFailed) as exc:
                problems += [FieldProblem(item.path, p.message) for p in exc.problems]
        return problems

    async def _check_data_uri(self, model: str, item: MediaInput) -> None:
        found = check_data_uri(item.uri, field=item.path, kind=item.kind, catalog=self.catalog)
        async with self.uploads.staged("data-") as (fd, path):
            with os.fdopen(fd, "wb") as dest:
                await asyncio.to_thread(dest.write, found.data)
            facts = await self.uploads.probe.inspect(path, field=item.path)
        limits = self.catalog.limits_for(found.kind)
        declared = limits.canonical(found.mime_type) if limits else found.mime_type
        if facts.mime_type != declared:
            raise MediaRejected.single(
                item.path, f"the data URI says {found.mime_type} but holds {facts.mime_type}"
            )
        problems = limit_problems(item.path, item.spec, facts, model)
        if problems:
            raise ValidationFailed([FieldProblem(item.path, m) for m in problems])

    async def _check_hosts(self, media: list[MediaInput]) -> list[FieldProblem]:
        """Every https host must resolve, and only to public addresses (no connection is made)."""
        problems: list[FieldProblem] = []
        for item in media:
            host = urlsplit(item.uri).hostname or ""
            message = await host_problem(host, resolver=self._resolver, seconds=_RESOLVE_SECONDS)
            if message:
                problems.append(FieldProblem(item.path, message))
        return problems

    async def _ingest(
        self, model: str, media: MediaInput, owner: str | None, idempotency_key: str | None
    ) -> str:
        if idempotency_key is not None:
            earlier = await self.uploads.earlier(
                owner=owner, request_key=idempotency_key, source=media.uri
            )
            if earlier is not None:
                return earlier.uri
        limits = self.catalog.media[media.kind]
        max_bytes = min(self.settings.upload_max_bytes, limits.upload_max_bytes)
        if self._client is None:
            self._client = self._client_factory()
        async with self.uploads.staged("ingest-") as (fd, path):
            with os.fdopen(fd, "wb") as dest:
                fetched_media = await fetch_media(
                    media.uri,
                    field=media.path,
                    allowed_hosts=self.settings.media_allowed_hosts,
                    max_bytes=max_bytes,
                    dest=dest,
                    kind=media.kind,
                    client=self._client,
                    catalog=self.catalog,
                )
            fetched = ReceivedFile(
                path=path,
                filename=urlsplit(media.uri).path.rsplit("/", 1)[-1],
                bytes=fetched_media.bytes,
                sha256=await asyncio.to_thread(_sha256, path),
            )
            upload = await self.uploads.accept(
                fetched,
                owner=owner,
                field=media.path,
                target=UploadTarget(model, spec=media.spec),
                source=media.uri,
                request_key=idempotency_key,
            )
        return upload.uri


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) for k, v in body.items()}


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
