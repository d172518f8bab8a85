"""What vidgate makes of a finished video besides storing it: poster, sound, preview, provenance.

All of it comes from the one local file the output was downloaded to (:func:`derive_extras`),
before anything is stored; nothing is read back from storage:

* the poster, its first frame as a JPEG;
* the sound track as probed (codec, channels, rate, length): :func:`audio_columns`;
* a moving preview (:mod:`vidgate.media.preview`) stored beside the video as
  ``jobs/<id>/preview.webp``, made by the worker as part of storing, never by the API. A video
  the previewer cannot read simply has none (``preview_key`` stays empty; the job succeeds).
  Jobs stored before previews were made this way may lack theirs: :func:`restore_previews`
  (``vidgate previews``) makes them from the stored videos;
* the C2PA manifest the file carries, read and verified (:mod:`vidgate.media.provenance`).

A chain's joined file is vidgate's own: :func:`sign_joined` gives it a manifest that lists the
segments as ingredients, signed with the operator's certificate, or says plainly why it has none.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidgate.errors import MediaRejected, NotFound
from vidgate.jobs.status import Status
from vidgate.jobs.store import JobStore
from vidgate.media.c2pa_trust import TrustSetup
from vidgate.media.frames import save_poster
from vidgate.media.preview import make_preview
from vidgate.media.probe import MediaInfo
from vidgate.media.provenance import (
    SigningIdentity,
    ai_generated_manifest,
    read_provenance,
    sign_video,
)
from vidgate.storage import Storage

__all__ = [
    "UNSIGNED_REASON",
    "Extras",
    "PreviewsRestored",
    "audio_columns",
    "derive_extras",
    "preview_key",
    "restore_previews",
    "sign_joined",
]

log = logging.getLogger("vidgate.pipeline.output_extras")

UNSIGNED_REASON = (
    "vidgate joined this chain itself and has no signing certificate "
    "(set VIDGATE_C2PA_CERTIFICATE and VIDGATE_C2PA_PRIVATE_KEY); the segments keep their own"
)
_GENERATOR = "vidgate"


def preview_key(job_id: str) -> str:
    """Where job ``job_id``'s preview is stored."""
    return f"jobs/{job_id}/preview.webp"


def audio_columns(info: MediaInfo) -> dict[str, Any]:
    """The job's sound columns from the probe (all None: the video has no sound)."""
    return {
        "output_audio_codec": info.audio_codec,
        "output_audio_channels": info.audio_channels,
        "output_audio_sample_rate": info.audio_sample_rate,
        "output_audio_seconds": info.audio_duration_seconds,
    }


@dataclass(frozen=True)
class Extras:
    """What is made of a video before it is stored."""

    poster: bytes
    #: None: the previewer could not read the video.
    preview: bytes | None
    provenance: dict[str, Any]


async def derive_extras(
    path: Path,
    *,
    job_id: str,
    provenance: dict[str, Any] | None = None,
    trust: TrustSetup | None = None,
) -> Extras:
    """The poster, preview and provenance (unless ``provenance`` is given; read against
    ``trust``) of the local video at ``path``, made side by side on threads of their own."""
    poster = io.BytesIO()
    read = (
        asyncio.to_thread(_provenance_of, path, trust) if provenance is None else _given(provenance)
    )
    _, preview, report = await asyncio.gather(
        asyncio.to_thread(save_poster, path, poster, field="output"),
        asyncio.to_thread(_preview_or_none, path, job_id),
        read,
    )
    return Extras(poster=poster.getvalue(), preview=preview, provenance=report)


@dataclass
class PreviewsRestored:
    """What :func:`restore_previews` found and did."""

    #: Succeeded jobs that name a preview.
    checked: int = 0
    #: Previews made from the stored video.
    made: int = 0
    #: Jobs whose stored video has no picture the previewer can read, or is gone: no preview.
    without: list[str] = field(default_factory=list)


async def restore_previews(
    store: JobStore, storage: Storage, *, page: int = 200
) -> PreviewsRestored:
    """Make the preview of every succeeded job that names one not stored: jobs stored before
    the worker made previews with the video (one lost to a crash then was made on request).
    Reads each such video back once; ``vidgate previews`` runs it."""
    result = PreviewsRestored()
    cursor: str | None = None
    while True:
        found = await store.list_jobs(None, status=Status.SUCCEEDED, limit=page, cursor=cursor)
        for job in found.jobs:
            if job.preview_key is None or job.output_key is None:
                continue
            result.checked += 1
            if await storage.exists(job.preview_key):
                continue
            try:
                async with storage.local_copy(job.output_key) as path:
                    preview = await asyncio.to_thread(_preview_or_none, path, job.id)
            except NotFound:
                preview = None
            if preview is None:
                result.without.append(job.id)
                continue
            await storage.save_bytes(job.preview_key, preview, content_type="image/webp")
            result.made += 1
        if found.next_cursor is None:
            return result
        cursor = found.next_cursor


def _preview_or_none(path: Path, job_id: str) -> bytes | None:
    try:
        return make_preview(path, field="output")
    except MediaRejected as exc:
        log.warning("job %s: no preview: %s", job_id, exc)
        return None


def _provenance_of(path: Path, trust: TrustSetup | None) -> dict[str, Any]:
    return read_provenance(path, trust).as_dict()


async def _given(provenance: dict[str, Any]) -> dict[str, Any]:
    return provenance


def sign_joined(
    joined: Path,
    segments: Sequence[Path],
    *,
    model: str,
    identity: SigningIdentity | None,
    trust: TrustSetup | None = None,
) -> dict[str, Any]:
    """Sign the joined chain at ``joined`` in place, its segments as ingredients; its report,
    each signer judged by ``trust``.

    Without an ``identity`` the file stays as joined and the report says it is unsigned.
    """
    if identity is None:
        report = read_provenance(joined, trust).as_dict()
        report["unsigned_reason"] = UNSIGNED_REASON
        return report
    manifest = ai_generated_manifest("video.mp4", model=model, generator=_GENERATOR, composite=True)
    signed = joined.with_suffix(".signed.mp4")
    ingredients = [(f"segment {i + 1} of {len(segments)}", p) for i, p in enumerate(segments)]
    sign_video(joined, signed, manifest, identity, ingredients=ingredients, trust=trust)
    os.replace(signed, joined)
    return read_provenance(joined, trust).as_dict()
