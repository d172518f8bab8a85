"""What a media file is, from its own bytes, and whether a model's field takes it.

:meth:`MediaProbe.inspect` is the one path every media input takes (uploads, media fetched in ingest
mode, data URIs): the type is sniffed from the bytes, never from a name or a declared type, and
the file is probed under the catalog's limits (:func:`~vidgate.media.probe.probe_media` reads
dimensions, duration and frame counts from the headers and refuses a bomb before decoding). Probes
run at most ``concurrency`` at once, so memory stays bounded whatever arrives together.
:func:`limit_problems` checks the result against one field's limits (length, size, height).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from vidgate.catalog import Catalog, FieldSpec, MediaKind
from vidgate.errors import MediaRejected
from vidgate.media.probe import MediaInfo, probe_media
from vidgate.media.sniff import SNIFF_BYTES, sniff_mime

__all__ = ["MediaFacts", "MediaProbe", "field_kinds", "limit_problems"]


@dataclass(frozen=True)
class MediaFacts:
    """What is known of one media file, from a probe or from an upload record."""

    kind: str
    mime_type: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None

    @classmethod
    def of(cls, info: MediaInfo, size: int) -> MediaFacts:
        return cls(
            kind=info.kind.value,
            mime_type=info.mime_type,
            bytes=size,
            width=info.width,
            height=info.height,
            duration_seconds=info.duration_seconds,
        )


class MediaProbe:
    """Judges media files for one running API: its catalog, and at most ``concurrency`` probes
    at once (the rest wait), so memory stays bounded whatever arrives together."""

    def __init__(self, catalog: Catalog, *, concurrency: int) -> None:
        self.catalog = catalog
        self._slots = asyncio.Semaphore(concurrency)

    async def inspect(self, path: Path, *, field: str) -> MediaFacts:
        """Sniff and probe ``path``; MediaRejected (naming ``field``) unless Runway takes it.

        Headers are checked against the catalog's limits before anything is decoded.
        """
        head, size = await asyncio.to_thread(_head_and_size, path)
        if not head:
            raise MediaRejected.single(field, "is empty")
        sniffed = sniff_mime(head)
        if sniffed is None:
            raise MediaRejected.single(
                field,
                "is not an image, video or audio file vidgate recognises (judged by its bytes)",
            )
        catalog = self.catalog
        images = catalog.media[MediaKind.IMAGE].mime_types
        if sniffed.startswith("image/") and sniffed not in images:
            # Refused before probing: no decoder runs on a type Runway would refuse anyway.
            raise MediaRejected.single(field, _not_accepted(sniffed, images))
        async with self._slots:
            info = await asyncio.to_thread(probe_media, path, field=field, limits=catalog.media)
        facts = MediaFacts.of(info, size)
        limits = catalog.limits_for(facts.kind)
        if limits is None or facts.mime_type not in limits.mime_types:
            raise MediaRejected.single(
                field, _not_accepted(facts.mime_type, limits.mime_types if limits else None)
            )
        if facts.bytes > limits.upload_max_bytes:
            raise MediaRejected.single(
                field, f"{facts.kind} uploads may be at most {limits.upload_max_bytes} bytes"
            )
        return facts


def _not_accepted(mime_type: str, accepted: tuple[str, ...] | None) -> str:
    listed = ", ".join(accepted) if accepted else "image, video or audio"
    return f"is {mime_type}, which Runway does not accept (accepted: {listed})"


def _head_and_size(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES), os.fstat(handle.fileno()).st_size


def field_kinds(spec: FieldSpec) -> tuple[str, ...]:
    if spec.type == "frames":
        return ("image",)
    if spec.type == "typed_media":
        return spec.types
    if spec.type in ("media", "media_list"):
        return (spec.kind or ("video" if spec.type == "media" else "image"),)
    if spec.type == "keyframes":
        return ("image",)
    return ()


def limit_problems(path: str, spec: FieldSpec, facts: MediaFacts, model_id: str) -> list[str]:
    """Every way ``facts`` breaks the input limits of the field ``spec`` (empty: it fits)."""
    kinds = field_kinds(spec)
    if kinds and facts.kind not in kinds:
        return [f"{model_id} wants {' or '.join(kinds)} here, got {facts.kind} ({facts.mime_type})"]
    problems: list[str] = []
    seconds = facts.duration_seconds
    if spec.max_bytes is not None and facts.bytes > spec.max_bytes:
        problems.append(
            f"{model_id} takes at most {spec.max_bytes / 1048576:g} MB here, "
            f"got {facts.bytes / 1048576:.1f} MB"
        )
    if spec.max_seconds is not None and seconds is not None and seconds > spec.max_seconds + 0.05:
        problems.append(
            f"{model_id} takes at most {spec.max_seconds:g} s here, got {seconds:.1f} s"
        )
    if spec.min_seconds is not None and seconds is not None and seconds < spec.min_seconds - 0.05:
        problems.append(
            f"{model_id} needs at least {spec.min_seconds:g} s here, got {seconds:.1f} s"
        )
    if spec.min_height is not None and facts.height is not None and facts.height < spec.min_height:
        problems.append(f"{model_id} needs at least {spec.min_height}p here, got {facts.height}p")
    if facts.width and facts.height:
        side = min(facts.width, facts.height)
        if spec.min_side is not None and side < spec.min_side:
            problems.append(
                f"{model_id} needs at least {spec.min_side} px per side, "
                f"got {facts.width}x{facts.height}"
            )
        aspect = facts.width / facts.height
        if spec.min_aspect is not None and aspect < spec.min_aspect:
            problems.append(f"{model_id} needs an aspect ratio of at least {spec.min_aspect:g}")
        if spec.max_aspect is not None and aspect > spec.max_aspect:
            problems.append(f"{model_id} needs an aspect ratio of at most {spec.max_aspect:g}")
    return problems
