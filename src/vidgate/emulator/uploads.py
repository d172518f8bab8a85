"""Ephemeral uploads: the slot ``POST /v1/uploads`` hands out, its presigned form, its bytes.

Runway answers ``POST /v1/uploads`` with a storage URL, the form fields to post with the file (an
S3-style presigned POST) and the ``runway://`` URI the file will have. The emulator plays both
parts: :meth:`UploadStore.create` makes the slot and signs its form; :meth:`UploadStore.complete`
checks the form the client posted back and keeps the file; :meth:`UploadStore.lookup` turns a
``runway://`` URI in a media field back into the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["RUNWAY_URI_PREFIX", "Upload", "UploadStore"]

RUNWAY_URI_PREFIX = "runway://emulator/uploads/"


@dataclass(eq=False)
class Upload:
    id: str
    filename: str
    created_at: float
    expires_at: float
    data: bytes | None = None  # None until the file was posted to the storage URL
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
    """Upload slots and their files, in memory. Not thread-safe: the owner serialises calls."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._uploads: dict[str, Upload] = {}

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

    def complete(
        self, fields: Mapping[str, str], data: bytes, content_type: str | None, *, now: float
    ) -> Upload | None:
        """Store a posted file; None when the form is not one this store signed (or expired)."""
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
        upload.data = data
        upload.content_type = content_type
        return upload

    def lookup(self, uri: str, *, now: float) -> Upload | None:
        """The completed, unexpired upload a ``runway://`` URI names, if any."""
        if not uri.startswith(RUNWAY_URI_PREFIX):
            return None
        upload = self._uploads.get(uri.removeprefix(RUNWAY_URI_PREFIX))
        if upload is None or upload.data is None or now >= upload.expires_at:
            return None
        return upload

    def purge_expired(self, *, now: float) -> list[str]:
        """Forget uploads whose URI has expired (their bytes with them); returns their ids."""
        expired = [u.id for u in self._uploads.values() if now >= u.expires_at]
        for upload_id in expired:
            del self._uploads[upload_id]
        return expired

    def _sign(self, policy: str) -> str:
        return hmac.new(self._secret, policy.encode(), hashlib.sha256).hexdigest()


def _basename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or "file"
