"""THE media URI rule: which references a client may put in a media field (pure, no network).

Two levels, one home:

* :func:`media_uri_problem` is what Runway itself accepts, and what the request validator applies
  to every media field (so the API and the emulator agree): an ``https`` URL of at most
  :data:`MAX_URL_LENGTH` characters naming a host (not an IP address, no user info), a non-empty
  ``runway://`` URI, or a base64 ``data:`` URI (:func:`check_data_uri`).
* :func:`check_media_url` is vidgate's own policy on top, for the URLs the API lets through: the
  host must be a *name* on the operator's allowlist, and anything a URL parser could read two ways
  (userinfo, backslashes, percent-encoded hosts, numeric hosts in any notation, other ports) is
  refused rather than interpreted. Whether the name resolves to public addresses is
  :mod:`vidgate.media.guarded_fetch`'s question.

The data URI rule reads its limits and MIME types from the catalog (``[media.*]`` in models.toml):
the cap applies to the whole URI as sent, so an oversized one is refused before it is decoded.
Every function is safe for any string, lone surrogates included.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

import httpx
import idna

from vidgate.catalog import Catalog, MediaKind, get_catalog
from vidgate.errors import FieldProblem, MediaRejected
from vidgate.media.text import is_valid_text

__all__ = [
    "DEFAULT_ALLOWED_PORTS",
    "MAX_URL_LENGTH",
    "DataUri",
    "MediaReference",
    "accepted_types",
    "check_data_uri",
    "check_https_url",
    "check_media_url",
    "media_uri_problem",
]

MAX_URL_LENGTH: Final = 2048  # Runway refuses longer URLs.
_ALLOWLIST_SETTING: Final = "VIDGATE_MEDIA_ALLOWED_HOSTS"
_DATA_URI_SHAPE: Final = "data:<mime type>;base64,<data>"
_MIB: Final = 1024 * 1024

# Only the default port: other ports of an allowlisted host are often admin or internal services
# the operator never meant to expose, and Runway's own fetcher has no reason to need them.
DEFAULT_ALLOWED_PORTS: Final = frozenset({443})

_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_LABEL_RE: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL_RE: Final = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)")


@dataclass(frozen=True)
class MediaReference:
    """A media reference that passed the policy; ``url`` is exactly what the client sent."""

    field: str
    url: str
    scheme: Literal["runway", "data", "https"]
    host: str | None = None  # normalised (lower-case, IDNA, no trailing dot); https only
    mime_type: str | None = None  # data URIs only; an https type is known only once fetched
    data_bytes_len: int | None = None  # decoded size of a data URI


@dataclass(frozen=True)
class DataUri:
    """A data URI that passed :func:`check_data_uri`: its declared type and decoded bytes."""

    mime_type: str
    kind: MediaKind
    data: bytes


def accepted_types(catalog: Catalog, kind: MediaKind | str | None) -> tuple[str, ...]:
    """The MIME types Runway accepts for ``kind`` (every kind's when None), from the catalog."""
    if kind is None:
        return tuple(t for limits in catalog.media.values() for t in limits.mime_types)
    limits = catalog.limits_for(kind)
    return limits.mime_types if limits else ()


def _reject(field: str, message: str) -> MediaRejected:
    return MediaRejected([FieldProblem(field, message)])


def _listed(values: Collection[str]) -> str:
    items = list(values)
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


# --- Runway's rule, applied by the request validator ---------------------------------------------


def media_uri_problem(value: str, kind: MediaKind | str, catalog: Catalog) -> str | None:
    """Why Runway would refuse ``value`` in a field taking ``kind``; None when it takes it."""
    if not is_valid_text(value):
        return "must be valid Unicode text (it holds a lone surrogate)"
    lowered = value[:16].lower()
    if lowered.startswith("runway://"):
        return None if len(value) > len("runway://") else "the runway:// URI is empty"
    if lowered.startswith("data:"):
        try:
            check_data_uri(value, field="", kind=kind, catalog=catalog, decode=False)
        except MediaRejected as exc:
            return exc.problems[0].message
        return None
    if lowered.startswith("https://"):
        return _https_url_problem(value)
    return "must be an https URL, a runway:// URI or a data URI"


def _https_url_problem(value: str) -> str | None:
    if len(value) > MAX_URL_LENGTH:
        return f"URLs may be at most {MAX_URL_LENGTH} characters, got {len(value)}"
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return "not a valid https URL"
    if not host or any(c.isspace() for c in value):
        return "not a valid https URL (no host, or whitespace in it)"
    if parts.username is not None or parts.password is not None:
        return "URLs may not carry a user name or password"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host.replace(".", "").isdigit():
            return None
    return f"the URL host must be a domain name, not an IP address ({host})"


def check_data_uri(
    url: str,
    *,
    field: str,
    kind: MediaKind | str | None,
    catalog: Catalog | None = None,
    decode: bool = True,
) -> DataUri:
    """Check a ``data:`` URI against the catalog's types and cap for ``kind`` (any kind if None).

    Raises :class:`MediaRejected` naming ``field``. With ``decode=False`` the payload is checked
    but not kept (``data`` is empty). What the bytes really are is the media probe's question.
    """
    catalog = catalog or get_catalog()
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise _reject(field, f"data URI is malformed (no ',' before the data): {_DATA_URI_SHAPE}")
    mime_type, *params = (part.strip().lower() for part in header.split(";"))
    if not mime_type:
        raise _reject(field, f"data URI must declare a media type ({_DATA_URI_SHAPE})")
    accepted = accepted_types(catalog, kind)
    if mime_type not in accepted:
        raise _reject(field, _type_refusal(mime_type, kind, accepted))
    found = kind or next(k for k, lim in catalog.media.items() if mime_type in lim.mime_types)
    limits = catalog.limits_for(found)
    assert limits is not None  # the mime type was found in the catalog's lists
    if not params or params[-1] != "base64":
        raise _reject(field, f"data URI must be base64-encoded ({_DATA_URI_SHAPE})")
    # The cap is on the URI as sent, checked before decoding, so nothing oversized is decoded.
    if len(url) > limits.data_uri_max_bytes:
        raise _reject(
            field,
            f"{found} data URIs may be at most {limits.data_uri_max_bytes / _MIB:g} MB, "
            f"got {len(url) / _MIB:.1f} MB; upload the file instead",
        )
    if not payload:
        raise _reject(field, "the data URI holds no data")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _reject(field, "the data URI is not valid base64") from None
    if not data:
        raise _reject(field, "the data URI holds no data")
    return DataUri(mime_type=mime_type, kind=MediaKind(found), data=data if decode else b"")


def _type_refusal(mime_type: str, kind: MediaKind | str | None, accepted: Collection[str]) -> str:
    if kind is None:
        return (
            f"data URI media type {mime_type!r} is not an accepted media type "
            f"({', '.join(sorted(accepted))})"
        )
    article = "an" if str(kind)[0] in "aeiou" else "a"
    message = (
        f"{article} {kind} is needed here ({_listed(accepted)}): "
        f"{mime_type!r} is not an accepted {kind} type"
    )
    if "/" not in mime_type:
        message += f"; data URIs must be {_DATA_URI_SHAPE}"
    return message


# --- vidgate's policy on top, for the URLs the API lets through ----------------------------------


def check_media_url(
    url: str,
    *,
    field: str,
    allowed_hosts: Collection[str],
    kind: MediaKind | str | None = None,
    catalog: Catalog | None = None,
    allowed_ports: Collection[int] = DEFAULT_ALLOWED_PORTS,
) -> MediaReference:
    """Accept ``url`` for the media field ``field`` or raise :class:`MediaRejected` naming the rule.

    No network: a name that passes may still resolve to a private address, which only the guarded
    backend can see. An empty ``allowed_hosts`` accepts no external URL at all.
    """
    if not url:
        raise _reject(field, "media URL is empty")
    if not is_valid_text(url):
        raise _reject(field, "must be valid Unicode text (it holds a lone surrogate)")
    match = _SCHEME_RE.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme == "data":
        found = check_data_uri(url, field=field, kind=kind, catalog=catalog)
        return MediaReference(
            field=field,
            url=url,
            scheme="data",
            mime_type=found.mime_type,
            data_bytes_len=len(found.data),
        )
    _check_plain_characters(url, field)
    if scheme == "runway":
        if not url[len("runway://") :] or url[len("runway:") :][:2] != "//":
            raise _reject(field, "runway URI must look like runway://...")
        return MediaReference(field=field, url=url, scheme="runway")
    if scheme != "https":
        raise _reject(field, "URL scheme must be https")
    host = _check_https_authority(url, field=field, allowed_ports=allowed_ports)
    _check_allowlisted(host, field=field, allowed_hosts=allowed_hosts)
    return MediaReference(field=field, url=url, scheme="https", host=host)


def check_https_url(
    url: str, *, field: str, allowed_ports: Collection[int] = DEFAULT_ALLOWED_PORTS
) -> str:
    """The address rules alone, for URLs vidgate itself will call (webhooks): no allowlist.

    ``url`` must be an ``https`` URL naming a host by a domain name (no IP address in any
    notation, no local name, no user info, nothing two parsers could read two ways) on one of
    ``allowed_ports``. Returns the normalised host; raises :class:`MediaRejected` naming ``field``.
    Like :func:`check_media_url`, no network: the guarded backend vets the addresses it dials.
    """
    if not url:
        raise _reject(field, "URL is empty")
    if not is_valid_text(url):
        raise _reject(field, "must be valid Unicode text (it holds a lone surrogate)")
    _check_plain_characters(url, field)
    match = _SCHEME_RE.match(url)
    if match is None or match.group(1).lower() != "https":
        raise _reject(field, "URL scheme must be https")
    return _check_https_authority(url, field=field, allowed_ports=allowed_ports)


def _check_plain_characters(url: str, field: str) -> None:
    if len(url) > MAX_URL_LENGTH:
        raise _reject(field, f"URL is longer than {MAX_URL_LENGTH} characters")
    # Parsers disagree on these (WHATWG drops tabs and newlines and reads "\" as "/"), so a URL
    # holding one could be checked as one host and fetched from another.
    if any(ch <= " " or ch in "\x7f\\" for ch in url):
        raise _reject(field, "URL must not contain whitespace, control characters or backslashes")


def _check_https_authority(url: str, *, field: str, allowed_ports: Collection[int]) -> str:
    """Return the normalised host of an https URL, refusing every ambiguous authority."""
    rest = url[len("https:") :]
    # WHATWG reads "https:host", "https:/host" and "https:///host" as https://host; refuse them.
    if not rest.startswith("//") or rest.startswith("///"):
        raise _reject(field, "URL must start with https:// followed by a host name")
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    if not authority:
        raise _reject(field, "URL has no host")
    if "@" in authority:
        raise _reject(field, "URL must not contain user credentials (user@host)")
    if authority.startswith("["):
        raise _reject(field, "URL host must be a domain name, not an IP address")
    if "%" in authority:
        # Percent-escapes in a host decode differently per parser (%40 is "@", %2e is ".").
        raise _reject(field, "URL host must not be percent-encoded")
    raw_host, port = authority, 443
    if ":" in authority:
        raw_host, _, raw_port = authority.rpartition(":")
        if ":" in raw_host:
            raise _reject(field, "URL host must be a domain name, not an IP address")
        if not (raw_port.isascii() and raw_port.isdigit()) or len(raw_port) > 5:
            raise _reject(field, "URL port is malformed")
        port = int(raw_port)
    if port not in allowed_ports:
        allowed = ", ".join(str(p) for p in sorted(allowed_ports)) or "none"
        raise _reject(field, f"URL port {port} is not allowed (allowed: {allowed})")
    host = _normalise_host(raw_host)
    if host is None:
        raise _reject(field, f"URL host {raw_host!r} is not a valid domain name")
    if _is_numeric_host(host):
        raise _reject(field, "URL host must be a domain name, not an IP address")
    if not all(_LABEL_RE.fullmatch(label) for label in host.split(".")) or len(host) > 253:
        raise _reject(field, f"URL host {raw_host!r} is not a valid domain name")
    if host == "localhost" or host.endswith(".localhost"):
        raise _reject(field, f"URL host {host!r} is a local name")
    _check_same_reading(url, host=host, port=port, field=field)
    return host


def _normalise_host(raw_host: str) -> str | None:
    """Lower-case / IDNA-encode ``raw_host`` and drop one trailing dot; None if not encodable."""
    host = raw_host[:-1] if raw_host.endswith(".") else raw_host
    if not host:
        return None
    if host.isascii():
        return host.lower()
    try:
        # UTS 46 maps what browsers map (full-width digits and dots too), so a full-width
        # "１２７．０．０．１" is seen here as the 127.0.0.1 it becomes in other parsers.
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def _is_numeric_host(host: str) -> bool:
    """True for a host some parser would read as an IP address, in any notation.

    WHATWG (and inet_aton) treat a host whose last label is decimal, octal or 0x-hex as IPv4:
    2130706433, 0177.0.0.1, 0x7f.1 and 127.1 are all loopback. No real top-level domain is
    numeric, so refusing every such host loses nothing.
    """
    if _NUMERIC_LABEL_RE.fullmatch(host.rsplit(".", 1)[-1]):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_same_reading(url: str, *, host: str, port: int, field: str) -> None:
    """Refuse a URL that httpx (the client that would fetch it) reads differently from us."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError):
        raise _reject(field, "URL is malformed") from None
    their_host = parsed.raw_host.decode("ascii").lower()
    their_host = their_host[:-1] if their_host.endswith(".") else their_host
    if (
        parsed.scheme != "https"
        or parsed.userinfo
        or their_host != host
        or (parsed.port or 443) != port
    ):
        raise _reject(field, "URL is malformed")


def _check_allowlisted(host: str, *, field: str, allowed_hosts: Collection[str]) -> None:
    allowed = {h for h in (_normalise_host(a.strip()) for a in allowed_hosts) if h}
    if not allowed:
        raise _reject(
            field,
            f"external URLs are not accepted ({_ALLOWLIST_SETTING} is empty); "
            "use a runway:// upload or a data URI",
        )
    if host not in allowed:
        raise _reject(field, f"host {host!r} is not in {_ALLOWLIST_SETTING}")
