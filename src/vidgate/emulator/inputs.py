"""Fetching a request's media the way Runway does, then checking what the bytes really are.

Each media URI of a validated request becomes bytes: ``data:`` URIs are decoded, ``runway://``
URIs are looked up among the emulator's uploads, and ``https`` URLs are fetched under Runway's
documented rules (a domain, not an IP; HEAD answered with a real ``Content-Type`` and
``Content-Length``; no redirects). There is no internet here, so the test-only ``hostMap`` sends
chosen hosts to a loopback server; any other host fails like an unreachable fetch.

The bytes are then probed (:func:`vidgate.media.probe.probe_media`) and held to the limits the
catalog gives the field (kind, MIME type, size, clip length, height). Every problem names the
field, as Runway's 400s do.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import anyio
import httpx

from vidgate.catalog import Catalog, MediaKindLimits
from vidgate.emulator.config import EmulatorConfig
from vidgate.errors import FieldProblem, MediaRejected
from vidgate.media.probe import MediaInfo, probe_media
from vidgate.requests.generation import GenerationRequest, MediaInput

__all__ = ["USER_AGENT", "ResolvedMedia", "resolve_media"]

USER_AGENT = "RunwayML API/emulator (vidgate)"

UploadLookup = Callable[[str], bytes | None]


@dataclass(frozen=True)
class ResolvedMedia:
    """One media input of a request, fetched and probed."""

    path: str
    uri: str
    data: bytes
    info: MediaInfo


async def resolve_media(
    request: GenerationRequest,
    *,
    config: EmulatorConfig,
    catalog: Catalog,
    lookup_upload: UploadLookup,
) -> dict[str, ResolvedMedia]:
    """Every media input of ``request`` by field path; MediaRejected lists every problem."""
    problems: list[FieldProblem] = []
    resolved: dict[str, ResolvedMedia] = {}
    if not request.media:
        return resolved
    timeout = httpx.Timeout(config.fetch_timeout_seconds)
    headers = {"User-Agent": USER_AGENT}
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, headers=headers) as http:
        for media in request.media:
            limits = catalog.media[media.kind]
            try:
                data = await _load(media, limits, config, http, lookup_upload)
                probe = partial(probe_media, data, field=media.path, limits=catalog.media)
                info = await anyio.to_thread.run_sync(probe)
                _check(media, data, info, limits)
            except MediaRejected as exc:
                problems.extend(exc.problems)
                continue
            resolved[media.path] = ResolvedMedia(media.path, media.uri, data, info)
    problems.extend(_check_totals(request, resolved))
    if problems:
        raise MediaRejected(problems)
    return resolved


def _reject(path: str, message: str) -> MediaRejected:
    return MediaRejected.single(path, message)


async def _load(
    media: MediaInput,
    limits: MediaKindLimits,
    config: EmulatorConfig,
    http: httpx.AsyncClient,
    lookup_upload: UploadLookup,
) -> bytes:
    scheme = media.scheme
    if scheme == "data":
        return base64.b64decode(media.uri.split(",", 1)[1])
    if scheme == "runway":
        data = lookup_upload(media.uri)
        if data is None:
            raise _reject(media.path, f"unknown or expired runway:// URI {media.uri!r}")
        if len(data) > limits.upload_max_bytes:
            raise _reject(media.path, f"uploads may be at most {_mb(limits.upload_max_bytes)}")
        return data
    return await _fetch(media, limits, config, http)


async def _fetch(
    media: MediaInput, limits: MediaKindLimits, config: EmulatorConfig, http: httpx.AsyncClient
) -> bytes:
    path, url = media.path, media.uri
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _reject(path, f"is not a valid URL ({exc})") from None
    host = parsed.host.lower().rstrip(".")
    if _is_ip(host):
        raise _reject(path, "URLs must use a domain name, not an IP address")
    base = config.host_map.get(host)
    if base is None:
        raise _reject(path, f"failed to fetch {url}: could not connect to {host}")
    target = base + parsed.raw_path.decode("ascii")
    try:
        head = await http.head(target)
        _check_response(path, url, head, "HEAD")
        mime = _content_type(path, media, head, limits)
        _check_length(path, head, limits)
        async with http.stream("GET", target) as response:
            _check_response(path, url, response, "GET")
            if _content_type(path, media, response, limits) != mime:
                raise _reject(path, f"{url} changed Content-Type between HEAD and GET")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limits.url_max_bytes:
                    raise _reject(path, f"{url} is larger than {_mb(limits.url_max_bytes)}")
    except httpx.TimeoutException:
        raise _reject(path, f"timed out fetching {url}") from None
    except httpx.HTTPError as exc:
        raise _reject(path, f"failed to fetch {url}: {type(exc).__name__}") from None
    return bytes(body)


def _check_response(path: str, url: str, response: httpx.Response, method: str) -> None:
    status = response.status_code
    if 300 <= status < 400:
        raise _reject(
            path, f"{method} {url} answered a redirect (HTTP {status}); redirects are not followed"
        )
    if status != 200:
        raise _reject(path, f"failed to fetch {url}: {method} answered HTTP {status}")


def _content_type(
    path: str, media: MediaInput, response: httpx.Response, limits: MediaKindLimits
) -> str:
    raw: str | None = response.headers.get("content-type")
    if not raw:
        raise _reject(path, f"{media.uri} was served without a Content-Type")
    mime = raw.split(";", 1)[0].strip().lower()
    if mime not in limits.mime_types:
        accepted = ", ".join(limits.mime_types)
        raise _reject(
            path, f"{media.uri} has Content-Type {mime}; {_an(media.kind)} is needed ({accepted})"
        )
    return mime


def _check_length(path: str, response: httpx.Response, limits: MediaKindLimits) -> None:
    raw = response.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        raise _reject(path, "the server must answer HEAD with a Content-Length")
    if int(raw) > limits.url_max_bytes:
        raise _reject(path, f"files fetched by URL may be at most {_mb(limits.url_max_bytes)}")


def _check(media: MediaInput, data: bytes, info: MediaInfo, limits: MediaKindLimits) -> None:
    path, spec = media.path, media.spec
    if info.kind.value != media.kind:
        got = f"{info.kind.value} ({info.mime_type})"
        raise _reject(path, f"{_an(media.kind)} is needed here, got {got}")
    if info.mime_type not in limits.mime_types:
        accepted = ", ".join(limits.mime_types)
        raise _reject(path, f"{info.mime_type} is not supported; use {accepted}")
    if spec.max_bytes is not None and len(data) > spec.max_bytes:
        raise _reject(path, f"may be at most {_mb(spec.max_bytes)}, got {_mb(len(data))}")
    if spec.min_height is not None and info.height is not None and info.height < spec.min_height:
        raise _reject(path, f"must be at least {spec.min_height} pixels high, got {info.height}")
    seconds = info.duration_seconds
    if seconds is not None and media.kind != "image":
        if spec.min_seconds is not None and seconds < spec.min_seconds - 0.01:
            raise _reject(
                path, f"must be at least {spec.min_seconds:g} s long, got {seconds:.2f} s"
            )
        if spec.max_seconds is not None and seconds > spec.max_seconds + 0.01:
            raise _reject(path, f"may be at most {spec.max_seconds:g} s long, got {seconds:.2f} s")


def _check_totals(
    request: GenerationRequest, resolved: dict[str, ResolvedMedia]
) -> list[FieldProblem]:
    totals: dict[str, float] = {}
    caps: dict[str, float] = {}
    for media in request.media:
        found = resolved.get(media.path)
        cap = media.spec.max_total_seconds
        if found is None or cap is None or found.info.duration_seconds is None:
            continue
        name = media.path.split("[", 1)[0].split(".", 1)[0]
        totals[name] = totals.get(name, 0.0) + found.info.duration_seconds
        caps[name] = cap
    return [
        FieldProblem(name, f"clips may total at most {caps[name]:g} s, got {total:.2f} s")
        for name, total in totals.items()
        if total > caps[name] + 0.01
    ]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _an(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
