"""Accepting a media file, the one way for every surface: received, probed, bounded, recorded.

``POST /v1/uploads``, the Runway surface's upload target, OpenAI's ``input_reference`` and the
media vidgate fetches in ingest mode (:mod:`vidgate.intake.media_policy`) all come here:

1. :meth:`UploadIntake.receive`: a multipart body is streamed to a temporary file under
   ``VIDGATE_UPLOAD_MAX_BYTES`` (413 by its declared length before a byte is read, or as soon as
   the cap is passed; :mod:`vidgate.media.multipart`), the file deleted when the caller is done;
2. :meth:`UploadIntake.accept`: the file is sniffed and probed
   (:meth:`~vidgate.media.facts.MediaProbe.inspect`), held to a model field's limits when a
   target is named, handed to the provider and recorded as the caller's upload. With a
   ``request_key``, an earlier upload of the same request and source is answered instead
   (the SDKs' retries resend the same bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from vidgate.catalog import Catalog, FieldSpec
from vidgate.errors import MediaRejected
from vidgate.media.facts import MediaProbe, limit_problems
from vidgate.media.multipart import (
    UPLOAD_FORM,
    FormRules,
    ReceivedFile,
    make_temp,
    receive_multipart,
)
from vidgate.provider.base import Provider
from vidgate.provider.health import ProviderHealth
from vidgate.settings import Settings
from vidgate.tenancy.tables import Upload
from vidgate.tenancy.uploads import UploadStore, target_field, upload_filename

__all__ = ["UploadIntake", "UploadTarget"]


@dataclass(frozen=True)
class UploadTarget:
    """The model field a file is meant for: it must fit that field's limits."""

    model: str
    #: With ``field``: where to look the field up (form fields ``endpoint`` and ``field``).
    endpoint: str | None = None
    field: str | None = None
    #: The field's limits when already known (a create's media field); else looked up by the
    #: file's kind.
    spec: FieldSpec | None = None


class UploadIntake:
    """Receives and accepts media files for one running API."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        store: UploadStore,
        provider: Provider,
        provider_health: ProviderHealth,
        accepted: Callable[[Upload], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.provider = provider
        self.provider_health = provider_health
        self.max_bytes = settings.upload_max_bytes
        self.tmp_dir = settings.data_dir / "tmp"
        #: The one probe of the API: at most ``VIDGATE_PROBE_CONCURRENCY`` files at once.
        self.probe = MediaProbe(catalog, concurrency=settings.probe_concurrency)
        self._accepted = accepted

    @contextlib.asynccontextmanager
    async def receive(
        self,
        chunks: AsyncIterator[bytes],
        content_type: str | None,
        declared_length: str | None,
        *,
        form: FormRules = UPLOAD_FORM,
    ) -> AsyncIterator[ReceivedFile]:
        """The multipart body ``chunks``, its file on disk for the ``async with`` block."""
        if form.file_required:
            # Before a byte is read: the file would go nowhere while the provider is down.
            await self.provider_health.refuse_while_down("uploads")
        declared = declared_length or ""
        if declared.isdigit() and int(declared) > form.body_max_bytes(self.max_bytes):
            raise form.file_too_large(self.max_bytes)
        received = await receive_multipart(
            chunks, content_type, max_bytes=self.max_bytes, directory=self.tmp_dir, rules=form
        )
        try:
            yield received
        finally:
            await _unlink(received.path)

    @contextlib.asynccontextmanager
    async def staged(self, prefix: str) -> AsyncIterator[tuple[int, Path]]:
        """A new temporary file (an open descriptor and its path), deleted after the block."""
        fd, path = await asyncio.to_thread(make_temp, self.tmp_dir, prefix)
        try:
            yield fd, path
        finally:
            await _unlink(path)

    async def earlier(self, *, owner: str | None, request_key: str, source: str) -> Upload | None:
        """The caller's unexpired upload made for ``request_key`` from ``source``, if any."""
        return await self.store.find_ingested(
            owner=owner, request_key=request_key, source_url=source
        )

    async def accept(
        self,
        file: ReceivedFile,
        *,
        owner: str | None,
        field: str = "file",
        target: UploadTarget | None = None,
        source: str | None = None,
        request_key: str | None = None,
    ) -> Upload:
        """Probe ``file``, check it against ``target``, hand it to the provider and record it.

        Problems name ``field``: MediaRejected (422) for a file Runway would refuse or that breaks
        the target's limits, ValidationFailed for a target that does not exist. ``source`` and
        ``request_key`` are recorded with the upload; given both, an earlier upload with them is
        answered instead.
        """
        if request_key is not None and source is not None:
            earlier = await self.earlier(owner=owner, request_key=request_key, source=source)
            if earlier is not None:
                return earlier
        # 503 while the provider is down: the file would go nowhere (the circuit is cached).
        await self.provider_health.refuse_while_down("uploads")
        facts = await self.probe.inspect(file.path, field=field)
        if target is not None:
            spec = target.spec
            if spec is None:
                _, spec = target_field(
                    self.catalog, target.model, target.endpoint, target.field, facts.kind
                )
            problems = limit_problems(field, spec, facts, target.model)
            if problems:
                raise MediaRejected.single(field, "; ".join(problems))
        filename = upload_filename(file.filename, facts.mime_type)
        uri = await self.provider.upload(file.path, filename=filename)
        upload = await self.store.create_upload(
            owner=owner,
            uri=uri,
            filename=filename,
            facts=facts,
            sha256=file.sha256,
            source_url=source,
            request_key=request_key,
        )
        if self._accepted is not None:
            self._accepted(upload)
        return upload


async def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        await asyncio.to_thread(os.unlink, path)
