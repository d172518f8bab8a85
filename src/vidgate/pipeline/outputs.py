"""Storing a job's finished video, for ordinary jobs and chains alike: one pass, one layout.

A job's video is ``jobs/<id>/video.mp4``, its poster ``jobs/<id>/poster.jpg`` and its preview
``jobs/<id>/preview.webp``. The video arrives as a local file (a download staged by
:meth:`vidgate.storage.Storage.staged`, or a joined chain); it is probed there and refused unless
it is a video, its poster, preview and provenance are made from that same file
(:func:`~vidgate.pipeline.output_extras.derive_extras`), and only then is everything committed:
the extras first, the video last, each whole or not at all. Nothing is read back from storage.
What the job records of it (keys, size, hash, what the probe found) is :func:`output_columns`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from vidgate.errors import MediaRejected
from vidgate.media.c2pa_trust import TrustSetup
from vidgate.media.probe import MediaInfo, probe_media
from vidgate.pipeline.output_extras import audio_columns, derive_extras, preview_key
from vidgate.storage import FileDigest, Storage, StoredObject

__all__ = ["output_columns", "poster_key", "store_video", "video_key"]


def video_key(job_id: str) -> str:
    """Where job ``job_id``'s video is stored."""
    return f"jobs/{job_id}/video.mp4"


def poster_key(job_id: str) -> str:
    """Where job ``job_id``'s poster is stored."""
    return f"jobs/{job_id}/poster.jpg"


async def store_video(
    storage: Storage,
    job_id: str,
    path: Path,
    digest: FileDigest | None = None,
    *,
    provenance: dict[str, Any] | None = None,
    trust: TrustSetup | None = None,
) -> dict[str, Any]:
    """Store the local file ``path`` (its ``digest``, if it was hashed on the way in) as job
    ``job_id``'s video, byte for byte (never re-muxed: its content credentials stay valid), with
    its poster and preview, its provenance read (against ``trust``) unless ``provenance`` is
    given; the job's columns.

    Raises :class:`MediaRejected` (and stores nothing) when the file is not a video.
    """
    info = await asyncio.to_thread(probe_media, path, field="output")
    if info.kind != "video":
        raise MediaRejected.single("output", f"the output is {info.mime_type}, not a video")
    extras = await derive_extras(path, job_id=job_id, provenance=provenance, trust=trust)
    video, poster = video_key(job_id), poster_key(job_id)
    # The small files first: a video whose commit fails leaves no big object behind. No reader
    # sees any of them before the job records its keys.
    await storage.save_bytes(poster, extras.poster, content_type="image/jpeg")
    preview = None
    if extras.preview is not None:
        preview = preview_key(job_id)
        await storage.save_bytes(preview, extras.preview, content_type="image/webp")
    stored = await storage.commit(video, path, digest, content_type="video/mp4")
    return output_columns(stored, info, video_key=video, poster_key=poster) | {
        "preview_key": preview,
        "provenance": extras.provenance,
    }


def output_columns(
    stored: StoredObject, info: MediaInfo, *, video_key: str, poster_key: str
) -> dict[str, Any]:
    """What a job records of its stored video: keys, size, hash, and what the probe found."""
    return {
        "output_key": video_key,
        "poster_key": poster_key,
        "output_bytes": stored.size,
        "output_sha256": stored.sha256,
        "output_duration_seconds": info.duration_seconds,
        "output_width": info.width,
        "output_height": info.height,
        "output_codec": info.video_codec,
        **audio_columns(info),
        "progress": 1.0,
    }
