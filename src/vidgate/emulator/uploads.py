"""Ephemeral uploads: the slot ``POST /v1/uploads`` hands out, its presigned form, its file.

Runway answers ``POST /v1/uploads`` with a storage URL, the form fields to post with the file (an
S3-style presigned POST) and the ``runway://`` URI the file will have. The emulator plays both
parts: :meth:`UploadStore.create` makes the slot and signs its form; :meth:`UploadStore.stage`
copies a posted file to disk and :meth:`UploadStore.complete` checks the form the client posted
back and keeps the file; :meth:`UploadStore.lookup` turns a ``runway://`` URI in a media field
back into its upload, :meth:`UploadStore.read` into its bytes.

Files live on disk, one per upload under the store's directory, never in memory or the state
file: four 200 MB uploads at once must not cost the process 800 MB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO, Any

__all__ = ["RUNWAY_URI_PREFIX", "UPLOADS_DIR", "Upload", "UploadStore"]

RUNWAY_URI_PREFIX = "runway://emulator/uploads/"
UPLOADS_DIR = "uploads"
"""The uploads' directory, under the emulator's output directory."""

_COPY_CHUNK = 1024 * 1024


@dataclass(eq=False)
class Upload:
    id: str
    filename: str
    created_at: float
    expires_at: float
    size: int | None = None  # None until the file was posted to the storage URL
    content_type: str | None = None

    @property
    def key(self) -> str:
        return f"uploads/{self.id}/{self.filename}"

    @property
    def runway_uri(self) -> str:
        return f"{RUNWAY_URI_PREFIX}{self.id}"

    def record(self, wall_of: Callable[[float], float]) -> dict[str, Any]:
        """The upload as plain values, its clock readings as wall time (see Task.record)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["created_at"] = wall_of(self.created_at)
        values["expires_at"] = wall_of(self.expires_at)
        return values

    @classmethod
    def from_record(cls, values: dict[str, Any], at_of: Callable[[float], float]) -> Upload:
        upload = cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})
        return replace(
            upload, created_at=at_of(upload.created_at), expires_at=at_of(upload.expires_at)
        )


class UploadStore:
    """Upload slots in memory, their files in ``directory``.

    Not thread-safe: the owner serialises calls, except :meth:`stage` and :meth:`read`, which
    touch only files (so a large copy need not hold the owner's lock).
    """

    def __init__(self, secret: bytes, directory: Path) -> None:
        self._secret = secret
        self._uploads: dict[str, Upload] = {}
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def __len__(self) -> int:
        return len(self._uploads)

    def __iter__(self) -> Iterator[Upload]:
        return iter(list(self._uploads.values()))

    def restore(self, uploads: Iterable[Upload]) -> None:
        """Hold ``uploads`` again (read back from the emulator's state file)."""
        for upload in uploads:
            self._uploads[upload.id] = upload

    def create(self, filename: str, *, now: float, ttl: float) -> Upload:
        upload = Upload(str(uuid.uuid4()), _basename(filename), now, now + ttl)
        self._uploads[upload.id] = upload
        return upload

    def form_fields(self, upload: Upload) -> dict[str, str]:
        """The fields the client must post, before ``file``, to the storage URL."""
        policy = base64.b64encode(
            json.dumps({"key": upload.key, "upload": upload.id}, separators=(",", ":")).encode()
        ).decode()
        return {
            "key": upload.key,
            "policy": policy,
            "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-signature": self._sign(policy),
        }

    def stage(self, source: IO[bytes]) -> Path:
        """Copy a posted file, chunk by chunk, to a new file beside the uploads; its path."""
        staged = self.directory / f".{uuid.uuid4()}.part"
        try:
            with staged.open("wb") as out:
                shutil.copyfileobj(source, out, _COPY_CHUNK)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return staged

    def complete(
        self, fields: Mapping[str, str], staged: Path, content_type: str | None, *, now: float
    ) -> Upload | None:
        """Keep a staged file; None (the file deleted) when the form is not one this store
        signed, or has expired."""
        upload = self._signed_upload(fields, now=now)
        if upload is None:
            staged.unlink(missing_ok=True)
            return None
        upload.size = staged.stat().st_size
        os.replace(staged, self.path(upload))
        upload.content_type = content_type
        return upload

    def _signed_upload(self, fields: Mapping[str, str], *, now: float) -> Upload | None:
        policy = fields.get("policy", "")
        if not hmac.compare_digest(self._sign(policy), fields.get("x-amz-signature", "")):
            return None
        try:
            decoded = json.loads(base64.b64decode(policy))
        except (ValueError, TypeError):
            return None
        upload = self._uploads.get(str(decoded.get("upload")))
        if upload is None or upload.key != fields.get("key") or now >= upload.expires_at:
            return None
        return upload

    def path(self, upload: Upload) -> Path:
        return self.directory / upload.id

    def read(self, upload: Upload) -> bytes | None:
        """The bytes of a completed upload (None: its file is gone, e.g. purged meanwhile)."""
        try:
            return self.path(upload).read_bytes()
        except FileNotFoundError:
            return None

    def lookup(self, uri: str, *, now: float) -> Upload | None:
        """The completed, unexpired upload a ``runway://`` URI names, if any."""
        if not uri.startswith(RUNWAY_URI_PREFIX):
            return None
        upload = self._uploads.get(uri.removeprefix(RUNWAY_URI_PREFIX))
        if upload is None or upload.size is None or now >= upload.expires_at:
            return None
        return upload

    def purge_expired(self, *, now: float) -> list[str]:
        """Forget uploads whose URI has expired (their files with them); returns their ids."""
        expired = [u for u in self._uploads.values() if now >= u.expires_at]
        for upload in expired:
            del self._uploads[upload.id]
            self.path(upload).unlink(missing_ok=True)
        return [u.id for u in expired]

    def clear(self) -> None:
        """Forget every upload and delete its file (staged files of posts under way stay)."""
        for upload in self._uploads.values():
            self.path(upload).unlink(missing_ok=True)
        self._uploads.clear()

    def _sign(self, policy: str) -> str:
        return hmac.new(self._secret, policy.encode(), hashlib.sha256).hexdigest()


def _basename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or "file"
