"""The media URL policy: which references a client may put in a media field, and a guarded fetch.

Two layers, because a string check alone cannot stop SSRF:

* :func:`check_media_url` is pure. It accepts ``runway://`` URIs, base64 ``data:`` URIs of the right
  media type, and ``https`` URLs whose host is a *name* on the operator's allowlist. Anything a URL
  parser could read two ways (userinfo, backslashes, percent-encoded hosts, numeric hosts in any
  notation) is refused rather than interpreted.
* :func:`guarded_client` / :func:`fetch_media` are for when vidgate itself downloads a URL. The
  network backend resolves the name, refuses if *any* address is not public, and dials the vetted
  address itself, so there is no window between the check and the connection (DNS rebinding).
  Redirects are never followed and the body is streamed under a byte cap.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ipaddress
import math
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import BinaryIO, Final, Literal

import anyio
import httpcore
import httpx
import idna

from vidgate.errors import FieldProblem, MediaRejected, PayloadTooLarge

__all__ = [
    "DATA_URI_MAX_BYTES",
    "DEFAULT_ALLOWED_PORTS",
    "MAX_URL_LENGTH",
    "MEDIA_TYPES",
    "FetchedMedia",
    "GuardedNetworkBackend",
    "IPAddress",
    "MediaKind",
    "MediaReference",
    "Resolver",
    "check_https_url",
    "check_media_url",
    "fetch_media",
    "guarded_client",
    "is_public_address",
    "system_resolver",
]

MediaKind = Literal["image", "video", "audio"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""Turns a host name into the IP addresses to dial; the guarded backend vets whatever it returns."""

MAX_URL_LENGTH: Final = 2048  # Runway refuses longer URLs.
# Runway documents "5 MB" for data URIs without saying MB or MiB; the smaller reading never lets
# through a URI that Runway would refuse.
DATA_URI_MAX_BYTES: Final = 5_000_000
_ALLOWLIST_SETTING: Final = "VIDGATE_MEDIA_ALLOWED_HOSTS"

MEDIA_TYPES: Final[dict[MediaKind, frozenset[str]]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "video": frozenset({"video/mp4", "video/quicktime", "video/webm"}),
    "audio": frozenset(
        {
            "audio/mpeg",
            "audio/mp3",
            "audio/wav",
            "audio/x-wav",
            "audio/wave",
            "audio/aac",
            "audio/flac",
            "audio/x-flac",
            "audio/ogg",
            "audio/mp4",
            "audio/x-m4a",
        }
    ),
}
_ALL_MEDIA_TYPES: Final = frozenset().union(*MEDIA_TYPES.values())

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
class FetchedMedia:
    """What :func:`fetch_media` wrote to ``dest``."""

    mime_type: str
    bytes: int


def _reject(field: str, message: str) -> MediaRejected:
    return MediaRejected([FieldProblem(field, message)])


# --- the pure check ------------------------------------------------------------------------------


def check_media_url(
    url: str,
    *,
    field: str,
    allowed_hosts: Collection[str],
    kind: MediaKind | None = None,
    data_max_bytes: int = DATA_URI_MAX_BYTES,
    allowed_ports: Collection[int] = DEFAULT_ALLOWED_PORTS,
) -> MediaReference:
    """Accept ``url`` for the media field ``field`` or raise :class:`MediaRejected` naming the rule.

    No network: a name that passes may still resolve to a private address, which only the guarded
    backend can see. An empty ``allowed_hosts`` accepts no external URL at all.
    """
    if not url:
        raise _reject(field, "media URL is empty")
    match = _SCHEME_RE.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme == "data":
        return _check_data_uri(url, field=field, kind=kind, max_bytes=data_max_bytes)
    if len(url) > MAX_URL_LENGTH:
        raise _reject(field, f"URL is longer than {MAX_URL_LENGTH} characters")
    # Parsers disagree on these (WHATWG drops tabs and newlines and reads "\" as "/"), so a URL
    # holding one could be checked as one host and fetched from another.
    if any(ch <= " " or ch in "\x7f\\" for ch in url):
        raise _reject(field, "URL must not contain whitespace, control characters or backslashes")
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
    if len(url) > MAX_URL_LENGTH:
        raise _reject(field, f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch <= " " or ch in "\x7f\\" for ch in url):
        raise _reject(field, "URL must not contain whitespace, control characters or backslashes")
    match = _SCHEME_RE.match(url)
    if match is None or match.group(1).lower() != "https":
        raise _reject(field, "URL scheme must be https")
    return _check_https_authority(url, field=field, allowed_ports=allowed_ports)


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
    except idna.IDNAError:
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
    except httpx.InvalidURL:
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


def _check_data_uri(
    url: str, *, field: str, kind: MediaKind | None, max_bytes: int
) -> MediaReference:
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise _reject(field, "data URI is malformed (no ',' before the data)")
    mime_type, *params = (part.strip().lower() for part in header.split(";"))
    if not mime_type:
        raise _reject(field, "data URI must declare a media type (data:image/png;base64,...)")
    accepted = MEDIA_TYPES[kind] if kind else _ALL_MEDIA_TYPES
    if mime_type not in accepted:
        what = f"an accepted {kind} type" if kind else "an accepted media type"
        raise _reject(
            field,
            f"data URI media type {mime_type!r} is not {what} ({', '.join(sorted(accepted))})",
        )
    if not params or params[-1] != "base64":
        raise _reject(field, "data URI must be base64-encoded (data:<type>;base64,...)")
    # Refuse on the encoded length first so an oversized URI is never decoded into memory.
    if len(payload) > 4 * math.ceil(max_bytes / 3):
        raise _reject(field, f"data URI is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _reject(field, "data URI is not valid base64") from None
    if not data:
        raise _reject(field, "data URI holds no data")
    if len(data) > max_bytes:
        raise _reject(field, f"data URI is larger than {max_bytes} bytes")
    return MediaReference(
        field=field, url=url, scheme="data", mime_type=mime_type, data_bytes_len=len(data)
    )


# --- which addresses may be dialled --------------------------------------------------------------

# Listed explicitly because the stdlib's tables differ between Python releases.
_NON_PUBLIC_V4: Final = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared address space (CGNAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    )
)
_NON_PUBLIC_V6: Final = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/8",  # unspecified, loopback, IPv4-compatible and other reserved forms
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo and benchmarking inside)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")
_SIX_TO_FOUR: Final = ipaddress.IPv6Network("2002::/16")
_TEREDO: Final = ipaddress.IPv6Network("2001::/32")
_NAT64: Final = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def is_public_address(ip: IPAddress | str) -> bool:
    """True only for a globally routable unicast address that is safe to dial.

    IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by the IPv4
    address they reach; an address with a zone id is link-scoped, hence never public.
    """
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv4Address):
        return _is_public_v4(addr)
    if addr.scope_id:
        return False
    if addr in _MAPPED:
        return _is_public_v4(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    if addr in _SIX_TO_FOUR:
        return _is_public_v4(ipaddress.IPv4Address((int(addr) >> 80) & 0xFFFFFFFF))
    if any(addr in net for net in _NAT64):
        return _is_public_v4(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    if addr in _TEREDO:
        # Teredo relays are a tunnel to whatever the embedded addresses say; refuse outright.
        return False
    if any(addr in net for net in _NON_PUBLIC_V6):
        return False
    return addr.is_global and not (
        addr.is_private or addr.is_reserved or addr.is_multicast or addr.is_site_local
    )


def _is_public_v4(addr: ipaddress.IPv4Address) -> bool:
    if any(addr in net for net in _NON_PUBLIC_V4):
        return False
    return addr.is_global and not (addr.is_private or addr.is_reserved or addr.is_multicast)


# --- the guarded transport -----------------------------------------------------------------------


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver; every address, duplicates removed, in order."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that dials only addresses it has vetted itself.

    httpcore keeps the URL's host name for SNI, certificate checks and the Host header; only the
    TCP connection goes to the IP chosen here, so the address checked is the address dialled.
    """

    def __init__(
        self, *, resolver: Resolver | None = None, allow_loopback_for_tests: bool = False
    ) -> None:
        self._resolver = resolver or system_resolver
        self._allow_loopback = allow_loopback_for_tests
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._vetted_addresses(host, timeout)
        last_error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        assert last_error is not None  # _vetted_addresses never returns an empty list
        raise last_error

    async def _vetted_addresses(self, host: str, seconds: float | None) -> list[IPAddress]:
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            resolved: Sequence[str] = [host]
        else:
            try:
                with anyio.fail_after(seconds):
                    resolved = await self._resolver(host)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
            except OSError as exc:
                raise httpcore.ConnectError(f"could not resolve {host!r}: {exc}") from exc
        if not resolved:
            raise httpcore.ConnectError(f"{host!r} resolves to no address")
        addresses: list[IPAddress] = []
        # Every address must pass, not just the one dialled first: a name mixing a public and a
        # private address is an attack, and a retry could land on the private one.
        for raw in resolved:
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                raise _not_public(host, raw) from None
            if not (is_public_address(address) or self._is_test_loopback(address)):
                raise _not_public(host, str(address))
            addresses.append(address)
        return addresses

    def _is_test_loopback(self, address: IPAddress) -> bool:
        if not self._allow_loopback:
            return False
        if isinstance(address, ipaddress.IPv4Address):
            return address in ipaddress.IPv4Network("127.0.0.0/8")
        return address == ipaddress.IPv6Address("::1")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the guarded backend never dials unix sockets")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def _not_public(host: str, address: str) -> MediaRejected:
    # The backend does not know the field; fetch_media re-raises this under the field's name.
    return MediaRejected(
        [FieldProblem("", f"host {host!r} resolves to {address}, not a public address")]
    )


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with the connection pool rebuilt on the guarded backend."""

    def __init__(
        self,
        *,
        backend: GuardedNetworkBackend,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        # AsyncHTTPTransport takes no network backend, so its pool is replaced; everything else
        # (request/response mapping, exception translation) stays httpx's.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


_DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
_DEFAULT_LIMITS: Final = httpx.Limits(max_connections=20, max_keepalive_connections=5)


def guarded_client(
    *,
    allow_loopback_for_tests: bool = False,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
    user_agent: str = "vidgate-media-fetch",
) -> httpx.AsyncClient:
    """An httpx client that dials only public addresses and never follows a redirect.

    ``resolver`` and ``allow_loopback_for_tests`` exist for tests; no setting reaches them.
    ``ssl_context`` defaults to the system trust store; there is no way to turn verification off.
    """
    backend = GuardedNetworkBackend(
        resolver=resolver, allow_loopback_for_tests=allow_loopback_for_tests
    )
    transport = _GuardedTransport(
        backend=backend,
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
        limits=_DEFAULT_LIMITS,
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        # Environment proxies would dial an address we never vetted; .netrc would leak credentials.
        trust_env=False,
        timeout=timeout,
        # Fetches for different callers share a client; cookies set by one must not reach another.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
    )


# --- fetching ------------------------------------------------------------------------------------


async def fetch_media(
    url: str,
    *,
    field: str,
    allowed_hosts: Collection[str],
    max_bytes: int,
    dest: BinaryIO,
    kind: MediaKind | None = None,
    allowed_ports: Collection[int] = DEFAULT_ALLOWED_PORTS,
    client: httpx.AsyncClient | None = None,
    deadline_seconds: float = 120.0,
) -> FetchedMedia:
    """Check ``url`` with :func:`check_media_url`, then stream its body into ``dest``.

    Refusals and fetch failures raise :class:`MediaRejected` naming ``field`` (the URL is the
    caller's choice, as Runway treats a failed fetch as bad input); a body over ``max_bytes``
    raises :class:`PayloadTooLarge`. ``dest`` may hold a partial body after a failure.
    ``client`` must come from :func:`guarded_client`; one is made and closed when omitted.
    """
    ref = check_media_url(
        url, field=field, allowed_hosts=allowed_hosts, kind=kind, allowed_ports=allowed_ports
    )
    if ref.scheme != "https":
        raise _reject(field, f"only https URLs are fetched, not {ref.scheme} references")
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(guarded_client())
        return await _fetch(
            url,
            field=field,
            kind=kind,
            max_bytes=max_bytes,
            dest=dest,
            client=client,
            deadline_seconds=deadline_seconds,
        )


async def _fetch(
    url: str,
    *,
    field: str,
    kind: MediaKind | None,
    max_bytes: int,
    dest: BinaryIO,
    client: httpx.AsyncClient,
    deadline_seconds: float,
) -> FetchedMedia:
    try:
        # httpx's timeouts bound each read; the deadline bounds a server that drips bytes.
        with anyio.fail_after(deadline_seconds):
            async with client.stream("GET", url) as response:
                mime_type = _check_response(response, field=field, kind=kind, max_bytes=max_bytes)
                written = 0
                async for chunk in response.aiter_raw():
                    written += len(chunk)
                    if written > max_bytes:
                        raise PayloadTooLarge(f"{field}: media is larger than {max_bytes} bytes")
                    dest.write(chunk)
    except MediaRejected as exc:
        if all(p.path == field for p in exc.problems):
            raise
        raise MediaRejected([FieldProblem(field, p.message) for p in exc.problems]) from exc
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise _reject(field, "fetching the URL timed out") from exc
    except httpx.HTTPError as exc:
        raise _reject(field, f"could not fetch the URL ({type(exc).__name__})") from exc
    return FetchedMedia(mime_type=mime_type, bytes=written)


def _check_response(
    response: httpx.Response, *, field: str, kind: MediaKind | None, max_bytes: int
) -> str:
    """Refuse a response by its status and headers, before any of the body is read."""
    if 300 <= response.status_code < 400:
        raise _reject(
            field, f"the server answered {response.status_code}; redirects are not followed"
        )
    if response.status_code != 200:
        raise _reject(field, f"the server answered {response.status_code}, not 200")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        # A compressed body could expand far past the byte cap while being decoded.
        raise _reject(
            field, f"the server sent a {encoding!r}-encoded body; media must be sent as is"
        )
    content_type: str = response.headers.get("Content-Type", "")
    mime_type = content_type.split(";", 1)[0].strip().lower()
    accepted = MEDIA_TYPES[kind] if kind else _ALL_MEDIA_TYPES
    if mime_type not in accepted:
        what = f"an accepted {kind} type" if kind else "an accepted media type"
        raise _reject(field, f"the server's Content-Type {mime_type or 'none'!r} is not {what}")
    declared: str | None = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"{field}: media is larger than {max_bytes} bytes")
    return mime_type
