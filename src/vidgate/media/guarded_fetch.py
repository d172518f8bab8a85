"""SSRF-safe fetching: which addresses may be dialled, and a client that dials only those.

A string check alone cannot stop SSRF (:mod:`vidgate.media.url_check` is that check), so when a
name matters vidgate resolves it itself with :func:`resolve_public`, the one place that decides
whether a host's addresses are public: the API calls it to give a client a 422 it can act on, and
:class:`GuardedNetworkBackend` calls it on every connection and then dials the vetted address
itself, so there is no window between the check and the connection (DNS rebinding).
:func:`fetch_media` never follows a redirect and streams the body under a byte cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import BinaryIO, Final

import anyio
import httpcore
import httpx

from vidgate.catalog import Catalog, MediaKind, get_catalog
from vidgate.errors import FieldProblem, MediaRejected, PayloadTooLarge
from vidgate.media.addresses import IPAddress, is_public_address
from vidgate.media.url_check import DEFAULT_ALLOWED_PORTS, accepted_types, check_media_url

__all__ = [
    "FetchedMedia",
    "GuardedNetworkBackend",
    "IPAddress",
    "Resolver",
    "fetch_media",
    "guarded_client",
    "host_problem",
    "is_public_address",
    "resolve_public",
    "system_resolver",
]

Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""Turns a host name into the IP addresses to dial; :func:`resolve_public` vets them."""


@dataclass(frozen=True)
class FetchedMedia:
    """What :func:`fetch_media` wrote to ``dest``."""

    mime_type: str
    bytes: int


def _reject(field: str, message: str) -> MediaRejected:
    return MediaRejected([FieldProblem(field, message)])


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
            return await resolve_public(
                host,
                resolver=self._resolver,
                seconds=seconds,
                allow_loopback_for_tests=self._allow_loopback,
            )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host!r}: {exc}") from exc

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
    # No field is known here; callers re-raise this under the field's name.
    return MediaRejected(
        [FieldProblem("", f"host {host!r} resolves to {address}, not a public address")]
    )


def _is_test_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("127.0.0.0/8")
    return address == ipaddress.IPv6Address("::1")


async def resolve_public(
    host: str,
    *,
    resolver: Resolver | None = None,
    seconds: float | None = None,
    allow_loopback_for_tests: bool = False,
) -> list[IPAddress]:
    """Every address ``host`` resolves to, each vetted by :func:`is_public_address`.

    An IP literal is vetted as itself. Raises :class:`MediaRejected` (with an empty field) when
    any address is not public, ``TimeoutError`` after ``seconds``, and ``OSError`` when the name
    does not resolve or resolves to nothing.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        resolved: Sequence[str] = [host]
    else:
        with anyio.fail_after(seconds):
            resolved = await (resolver or system_resolver)(host)
    if not resolved:
        raise OSError(f"{host!r} resolves to no address")
    addresses: list[IPAddress] = []
    # Every address must pass, not just the one dialled first: a name mixing a public and a
    # private address is an attack, and a retry could land on the private one.
    for raw in resolved:
        try:
            address = ipaddress.ip_address(raw)
        except ValueError:
            raise _not_public(host, raw) from None
        if not (
            is_public_address(address) or (allow_loopback_for_tests and _is_test_loopback(address))
        ):
            raise _not_public(host, str(address))
        addresses.append(address)
    return addresses


async def host_problem(
    host: str, *, resolver: Resolver | None = None, seconds: float = 5.0
) -> str | None:
    """Why ``host`` may not be fetched from (it does not resolve, or not only to public
    addresses), for a 422; None when it may. Nothing is dialled."""
    try:
        await resolve_public(host, resolver=resolver, seconds=seconds)
    except MediaRejected as exc:
        return exc.problems[0].message
    except (OSError, TimeoutError):
        return f"the host {host!r} does not resolve"
    return None


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
    kind: MediaKind | str | None = None,
    allowed_ports: Collection[int] = DEFAULT_ALLOWED_PORTS,
    client: httpx.AsyncClient | None = None,
    deadline_seconds: float = 120.0,
    catalog: Catalog | None = None,
) -> FetchedMedia:
    """Check ``url`` (:func:`~vidgate.media.url_check.check_media_url`), then stream it to ``dest``.

    Refusals and fetch failures raise :class:`MediaRejected` naming ``field`` (the URL is the
    caller's choice, as Runway treats a failed fetch as bad input); a body over ``max_bytes``
    raises :class:`PayloadTooLarge`. ``dest`` may hold a partial body after a failure.
    ``client`` must come from :func:`guarded_client`; one is made and closed when omitted.
    """
    catalog = catalog or get_catalog()
    ref = check_media_url(
        url,
        field=field,
        allowed_hosts=allowed_hosts,
        kind=kind,
        catalog=catalog,
        allowed_ports=allowed_ports,
    )
    if ref.scheme != "https":
        raise _reject(field, f"only https URLs are fetched, not {ref.scheme} references")
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(guarded_client())
        return await _fetch(
            url,
            field=field,
            accepted=accepted_types(catalog, kind),
            what=f"an accepted {kind} type" if kind else "an accepted media type",
            max_bytes=max_bytes,
            dest=dest,
            client=client,
            deadline_seconds=deadline_seconds,
        )


async def _fetch(
    url: str,
    *,
    field: str,
    accepted: Collection[str],
    what: str,
    max_bytes: int,
    dest: BinaryIO,
    client: httpx.AsyncClient,
    deadline_seconds: float,
) -> FetchedMedia:
    try:
        # httpx's timeouts bound each read; the deadline bounds a server that drips bytes.
        with anyio.fail_after(deadline_seconds):
            async with client.stream("GET", url) as response:
                mime_type = _check_response(
                    response, field=field, accepted=accepted, what=what, max_bytes=max_bytes
                )
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
    response: httpx.Response, *, field: str, accepted: Collection[str], what: str, max_bytes: int
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
    if mime_type not in accepted:
        raise _reject(field, f"the server's Content-Type {mime_type or 'none'!r} is not {what}")
    declared: str | None = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"{field}: media is larger than {max_bytes} bytes")
    return mime_type
