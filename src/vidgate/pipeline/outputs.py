"""Storing a job's finished video, for ordinary jobs and chains alike: one way, one layout.

A job's video is ``jobs/<id>/video.mp4`` and its poster ``jobs/<id>/poster.jpg``. The video is
copied into storage whole or not at all (:meth:`vidgate.storage.Storage.save_from`), probed, and
refused (deleted again) unless it is a video; the poster is its first frame. What the job records
of it (keys, size, hash, what the probe found) is :func:`output_columns`.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

from vidgate.errors import MediaRejected
from vidgate.media.frames import save_poster
from vidgate.media.probe import MediaInfo, probe_media
from vidgate.pipeline.output_extras import audio_columns, store_extras
from vidgate.storage import ByteSource, Storage, StoredObject

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
    body: ByteSource,
    *,
    length: int | None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Copy ``body`` (a provider's output stream or an open local file) in as job ``job_id``'s
    video, byte for byte (never re-muxed: its content credentials stay valid), probe it, save its
    poster and preview, read its provenance (unless ``provenance`` is given); the job's columns.

    Raises :class:`MediaRejected` (and keeps nothing) when the bytes are not a video.
    """
    video, poster = video_key(job_id), poster_key(job_id)
    stored = await storage.save_from(video, body, length=length, content_type="video/mp4")
    async with storage.local_copy(video) as path:
        info = await asyncio.to_thread(probe_media, path, field="output")
        image = io.BytesIO()
        extras: dict[str, Any] = {}
        if info.kind == "video":
            await asyncio.to_thread(save_poster, path, image)
            extras = await store_extras(storage, job_id, path, provenance=provenance)
    if info.kind != "video":
        await storage.delete(video)
        raise MediaRejected.single("output", f"the output is {info.mime_type}, not a video")
    await storage.save_bytes(poster, image.getvalue(), content_type="image/jpeg")
    return output_columns(stored, info, video_key=video, poster_key=poster) | extras


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
