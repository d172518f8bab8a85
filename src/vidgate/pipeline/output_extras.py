"""What vidgate records of a stored video besides its size and pictures: sound, preview, provenance.

* the sound track as probed (codec, channels, rate, length): :func:`audio_columns`;
* a moving preview (:mod:`vidgate.media.preview`) stored beside the video as
  ``jobs/<id>/preview.webp``. It is made after the job has succeeded, never on its way there
  (:func:`make_preview_soon`): a burst of finished jobs must not queue behind each other's
  previews. One is made at a time per process; a preview lost to a crash is made when it is first
  asked for (:func:`ensure_preview`), and a video the previewer cannot read simply has none;
* the C2PA manifest the file carries, read and verified (:mod:`vidgate.media.provenance`).

A chain's joined file is vidgate's own: :func:`sign_joined` gives it a manifest that lists the
segments as ingredients, signed with the operator's certificate, or says plainly why it has none.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidgate.errors import MediaRejected
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
    "audio_columns",
    "ensure_preview",
    "make_preview_soon",
    "preview_key",
    "sign_joined",
    "store_extras",
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


async def store_extras(
    storage: Storage,
    job_id: str,
    path: str | os.PathLike[str],
    *,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read the provenance of the video at ``path`` (unless ``provenance`` is given), and name
    where its preview will be; the job's columns for both."""
    if provenance is None:
        provenance = (await asyncio.to_thread(read_provenance, path)).as_dict()
    return {"provenance": provenance, "preview_key": preview_key(job_id)}


# One preview at a time per event loop, waited for here rather than on a worker thread.
_previewing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
# Previews being made after their job succeeded (held so they are not garbage collected).
_pending: set[asyncio.Task[str | None]] = set()


async def ensure_preview(storage: Storage, job_id: str, video_key: str) -> str | None:
    """The key of job ``job_id``'s preview, made from its stored video if it is not stored yet;
    None when the video has no picture the previewer can read."""
    key = preview_key(job_id)
    async with _previewing.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(1)):
        if await storage.exists(key):
            return key
        async with storage.local_copy(video_key) as path:
            try:
                preview = await asyncio.to_thread(make_preview, path, field="output")
            except MediaRejected as exc:
                log.warning("job %s: no preview: %s", job_id, exc)
                return None
        await storage.save_bytes(key, preview, content_type="image/webp")
    return key


def make_preview_soon(storage: Storage, job_id: str, video_key: str) -> None:
    """Make job ``job_id``'s preview in the background, once the job is stored."""
    task = asyncio.create_task(ensure_preview(storage, job_id, video_key))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def sign_joined(
    joined: Path,
    segments: Sequence[Path],
    *,
    model: str,
    identity: SigningIdentity | None,
) -> dict[str, Any]:
    """Sign the joined chain at ``joined`` in place, its segments as ingredients; its report.

    Without an ``identity`` the file stays as joined and the report says it is unsigned.
    """
    if identity is None:
        report = read_provenance(joined).as_dict()
        report["unsigned_reason"] = UNSIGNED_REASON
        return report
    manifest = ai_generated_manifest("video.mp4", model=model, generator=_GENERATOR, composite=True)
    signed = joined.with_suffix(".signed.mp4")
    ingredients = [(f"segment {i + 1} of {len(segments)}", p) for i, p in enumerate(segments)]
    sign_video(joined, signed, manifest, identity, ingredients=ingredients)
    os.replace(signed, joined)
    return read_provenance(joined).as_dict()
