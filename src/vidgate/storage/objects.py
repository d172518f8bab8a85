"""Where finished videos live: a local directory by default, S3, GCS or Azure by URL (obstore).

A save streams in constant memory (``part_size`` parts, ``max_concurrency`` in flight), hashes on
the fly, and writes under a temporary key first (``tmp/<uuid>``); only a complete object is renamed
or copied to its final key, so no reader finds a partial file. Abandoned temporary objects are
removed by :meth:`Storage.cleanup_temporary` (a bucket lifecycle rule should still expire
incomplete S3 multipart uploads of a dead process). A file read before it is stored (a finished
output) is built at a local path (:meth:`Storage.staged`), then committed (:meth:`Storage.commit`).
Credentials come from the URL, ``options`` or the standard ``AWS_*``/``GOOGLE_*``/``AZURE_*``
variables, which obstore reads itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import BaseError, NotFoundError, PermissionDeniedError, UnauthenticatedError
from obstore.store import ObjectStore

from vidgate.clock import utcnow
from vidgate.errors import NotFound, RangeNotSatisfiable, StorageRefused, TransientFault
from vidgate.storage.copying import (
    COPY_BUFFER,
    ByteSource,
    FileDigest,
    chunks_of,
    digest_of,
    fill_file,
)
from vidgate.storage.orphans import cleanup_local
from vidgate.storage.private import FILE_MODE
from vidgate.storage.stores import open_store

if TYPE_CHECKING:
    from obstore import GetOptions, GetResult

__all__ = ["TEMP_PREFIX", "Storage", "StoredObject"]

#: Where objects are written before they are whole; reserved, never a final key.
TEMP_PREFIX = "tmp/"
_MIB = 1024 * 1024
# S3's smallest multipart part (except the last one): the least memory a cloud upload can use.
_CLOUD_PART_SIZE = 5 * _MIB
# A local file has no minimum part; small parts keep memory low.
_LOCAL_PART_SIZE = 1 * _MIB


@dataclass(frozen=True)
class StoredObject:
    """A complete object at its final key."""

    key: str
    size: int
    #: Hex sha256 of the bytes stored.
    sha256: str


class Storage:
    """One object store (local directory, S3, GCS, Azure) behind vidgate's few operations.

    Keys are relative ``/``-separated paths (``outputs/<job id>.mp4``); ``tmp/`` is reserved.
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        url: str,
        root: Path | None = None,
        part_size: int | None = None,
        max_concurrency: int = 1,
        scratch_dir: Path | None = None,
    ) -> None:
        """Wrap an obstore ``store``; ``root`` is its directory when it is a local one.

        Memory per save is about ``part_size * max_concurrency``. Files are staged for a cloud
        store in ``scratch_dir`` (default: the system's temporary directory).
        """
        self._store = store
        self._scratch_dir = scratch_dir
        self._url = url
        self._root = root
        self.part_size = part_size or (_LOCAL_PART_SIZE if root else _CLOUD_PART_SIZE)
        self.max_concurrency = max_concurrency

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        options: Mapping[str, Any] | None = None,
        part_size: int | None = None,
        max_concurrency: int = 1,
        scratch_dir: Path | None = None,
    ) -> Storage:
        """A storage for ``file:///dir`` or a bare path (created if missing),
        ``s3://bucket/prefix``, ``gs://bucket/prefix``, ``az://container/prefix`` or ``memory://``.

        ``options`` are obstore settings (``aws_endpoint``, ``aws_region``, ``allow_http``...).
        A bad URL or option raises :class:`~vidgate.errors.ConfigurationError`.
        """
        store, root = open_store(url, options)
        return cls(
            store,
            url=url,
            root=root,
            part_size=part_size,
            max_concurrency=max_concurrency,
            scratch_dir=scratch_dir,
        )

    @property
    def url(self) -> str:
        return self._url

    @property
    def root(self) -> Path | None:
        """The directory of a local store; None for a cloud one."""
        return self._root

    def __repr__(self) -> str:
        return f"Storage({self._url!r})"

    # -- writing ------------------------------------------------------------------------------

    async def save_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes | bytearray],
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        """Stream ``chunks`` to ``key``; the object appears there whole or not at all.

        An exception from ``chunks`` is re-raised unchanged after the temporary object is removed.
        An existing object at ``key`` is replaced.
        """
        _check_key(key)
        temp_key = f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        size = 0
        source_error: BaseException | None = None

        async def hashed() -> AsyncIterator[bytes | bytearray]:
            nonlocal size, source_error
            try:
                async for chunk in chunks:
                    if chunk:
                        digest.update(chunk)
                        size += len(chunk)
                        yield chunk
            except BaseException as exc:
                source_error = exc
                raise

        attributes = None if self._root or not content_type else {"Content-Type": content_type}
        try:
            with self._translated(key, passthrough=lambda: source_error):
                await obstore.put_async(
                    self._store,
                    temp_key,
                    hashed(),
                    attributes=attributes,
                    chunk_size=self.part_size,
                    max_concurrency=self.max_concurrency,
                )
                if self._root is not None:
                    # A local rename is atomic and copies nothing; the file is vidgate's alone
                    # (served only through it), whatever the umask obstore wrote it under.
                    os.chmod(self._root / temp_key, FILE_MODE)
                    await obstore.rename_async(self._store, temp_key, key, overwrite=True)
                else:
                    # A server-side copy is atomic at the destination; then drop the original.
                    await obstore.copy_async(self._store, temp_key, key, overwrite=True)
        except BaseException:
            with contextlib.suppress(Exception):
                await obstore.delete_async(self._store, temp_key)
            raise
        if self._root is None:
            # Already whole at `key`; a leftover is swept by cleanup_temporary.
            with contextlib.suppress(Exception):
                await obstore.delete_async(self._store, temp_key)
        return StoredObject(key=key, size=size, sha256=digest.hexdigest())

    async def save_from(
        self,
        key: str,
        source: ByteSource,
        *,
        length: int | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        """Copy a blocking ``source`` (an output being downloaded) to ``key``, whole or not at all.

        Into a local store, on one worker thread: read 1 MiB into a buffer, hash it, write it,
        again, then rename; the one-thread loop that keeps up with curl (see
        :mod:`vidgate.provider.output_reader`). Into a cloud store, through :meth:`save_stream`.
        ``length`` (if known) only sizes the buffer. Errors from ``source`` come out unchanged.
        """
        _check_key(key)
        if self._root is not None:
            async with self.staged() as temp:
                return await self.commit(key, temp, await fill_file(temp, source, length=length))
        buffer_size = max(1, min(COPY_BUFFER, length)) if length is not None else COPY_BUFFER
        return await self.save_stream(
            key, chunks_of(source, buffer_size), content_type=content_type
        )

    # -- staging: a file built locally (:func:`~.copying.fill_file`, a tool), then committed ---

    @contextlib.asynccontextmanager
    async def staged(self, suffix: str = "") -> AsyncIterator[Path]:
        """A fresh local path to build a file at before :meth:`commit` (removed on exit if it is
        still there): in the store's own ``tmp/`` when it is local, so that committing is a
        rename; else in the scratch directory. A killed process's leftovers are swept at
        start-up (:func:`~vidgate.storage.remove_orphans`)."""
        local = self._root / TEMP_PREFIX if self._root is not None else None
        directory = local or self._scratch_dir or Path(tempfile.gettempdir())
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        path = directory / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    async def commit(
        self,
        key: str,
        path: Path,
        digest: FileDigest | None = None,
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        """Store the local file ``path`` (its ``digest``, if known) as ``key``, whole or not at
        all: a rename when it was staged in a local store, else a copy (:meth:`save_from`)."""
        _check_key(key)
        if self._root is not None and path.parent == self._root / TEMP_PREFIX:
            if digest is None:
                digest = await asyncio.to_thread(digest_of, path)
            final = self._root / key
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, final)
            except OSError as exc:
                raise TransientFault(f"storage {self._url} failed on {key!r}: {exc}") from exc
            return StoredObject(key=key, size=digest.size, sha256=digest.sha256)
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return await self.save_from(key, handle, length=size, content_type=content_type)

    async def save_bytes(
        self, key: str, data: bytes, *, content_type: str | None = None
    ) -> StoredObject:
        """Save a small object (a poster image, a manifest) through the same temporary-key path."""

        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.save_stream(key, one(), content_type=content_type)

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing object is not an error."""
        _check_key(key)
        with contextlib.suppress(NotFound), self._translated(key):
            await obstore.delete_async(self._store, key)

    async def cleanup_temporary(self, older_than: timedelta, *, now: datetime | None = None) -> int:
        """Remove temporary objects left by saves older than ``older_than``; returns how many."""
        cutoff = (now or utcnow()) - older_than
        if self._root is not None:
            return await asyncio.to_thread(cleanup_local, self._root / TEMP_PREFIX, cutoff)
        stale: list[str] = []
        with self._translated(TEMP_PREFIX):
            async for batch in obstore.list(self._store, TEMP_PREFIX, chunk_size=1000):
                stale.extend(m["path"] for m in batch if m["last_modified"] < cutoff)
        for path in stale:
            with contextlib.suppress(NotFound), self._translated(path):
                await obstore.delete_async(self._store, path)
        return len(stale)

    # -- reading ------------------------------------------------------------------------------

    async def open_range(
        self, key: str, start: int = 0, end: int | None = None, *, chunk_size: int = _MIB
    ) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` of ``key`` (``end=None``: to the end), as a stream.

        ``end`` is exclusive, like a slice: HTTP ``Range: bytes=a-b`` is ``open_range(k, a, b+1)``;
        an ``end`` past the object stops at its end. Errors come here, before any byte is sent:
        :class:`~vidgate.errors.NotFound` for a missing key,
        :class:`~vidgate.errors.RangeNotSatisfiable` for a ``start`` at or past the end.
        """
        _check_key(key)
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad range [{start}, {end})")
        if end == start:
            return _empty()
        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end)
        elif start:
            options["range"] = {"offset": start}
        try:
            with self._translated(key):
                result = await obstore.get_async(self._store, key, options=options)
        except TransientFault:
            # Stores answer a range past the end with a generic error: tell it apart.
            size = await self.size(key)
            if start >= size:
                raise RangeNotSatisfiable(
                    f"range starts at {start}, past the {size} bytes of {key!r}", size=size
                ) from None
            raise
        return self._stream(key, result, chunk_size)

    async def _stream(self, key: str, result: GetResult, chunk_size: int) -> AsyncIterator[bytes]:
        with self._translated(key):
            async for chunk in result.stream(min_chunk_size=chunk_size):
                yield chunk

    async def size(self, key: str) -> int:
        """The size of ``key`` in bytes; :class:`~vidgate.errors.NotFound` if missing."""
        _check_key(key)
        with self._translated(key):
            meta = await obstore.head_async(self._store, key)
        return meta["size"]

    async def exists(self, key: str) -> bool:
        with contextlib.suppress(NotFound):
            return await self.size(key) >= 0
        return False

    def local_path(self, key: str) -> Path | None:
        """The file behind ``key`` for a local store (to serve it with sendfile), else None."""
        _check_key(key)
        return None if self._root is None else self._root / key

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        """A file holding ``key`` for tools that need a path (PyAV): the file itself when the
        store is local, else a temporary copy, streamed (constant memory) and removed after."""
        local = self.local_path(key)
        if local is not None:
            yield local
            return
        with tempfile.TemporaryDirectory(prefix="vidgate-copy-") as tmp:
            path = Path(tmp) / Path(key).name
            size = await self.size(key)
            with path.open("wb") as handle:
                async for chunk in await self.open_range(key, 0, size):
                    handle.write(chunk)
            yield path

    # -- errors -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(
        self, key: str, passthrough: Callable[[], BaseException | None] = lambda: None
    ) -> Iterator[None]:
        """obstore's errors as vidgate's; ``passthrough()`` names an error to leave alone."""
        try:
            yield
        except (FileNotFoundError, NotFoundError) as exc:
            if exc is passthrough():
                raise
            raise NotFound(f"no stored object {key!r}") from exc
        except (PermissionDeniedError, UnauthenticatedError) as exc:
            raise StorageRefused(f"storage {self._url} refused access: {exc}") from exc
        except BaseError as exc:
            if exc is passthrough():
                raise
            raise TransientFault(f"storage {self._url} failed on {key!r}: {exc}") from exc


def _check_key(key: str) -> None:
    # Keys come from our own code; a bad one is a bug, and must never escape the store's root.
    parts = key.split("/")
    if (
        not key
        or "\\" in key
        or any(part in ("", ".", "..") for part in parts)
        or key.startswith(TEMP_PREFIX)
    ):
        raise ValueError(f"invalid storage key {key!r}")


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator
