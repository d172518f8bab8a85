"""The ``Host`` and ``Origin`` rules every HTTP server of vidgate keeps: the API and the emulator.

A server on loopback trusts whatever reaches it, and a browser is a way in for any web page its
user opens. Two attacks, two checks, one function (:func:`refusal`) both servers call:

* **DNS rebinding.** A page on ``attacker.example`` re-points its name at 127.0.0.1 and talks to
  the server as "same origin"; every such request carries ``Host: attacker.example``. Only hosts
  on the allowlist are served (421 otherwise): loopback names and addresses, the address the
  server is bound to and the one the connection arrived on, and the configured names. The header
  is parsed as RFC 9110 (7.2) and RFC 3986 (3.2.2, 3.2.3) define it, ``uri-host [":" port]``
  with ``uri-host`` a reg-name, an IPv4 address or an IP literal in brackets; any other form
  (``evil.example/x.localhost``, a zone id, a port past 65535, two ``Host`` headers) is a 400.
* **Cross-site requests (CSRF).** A form or ``fetch`` from another site can send a POST that needs
  no preflight. Browsers mark such requests with ``Origin`` (or, failing that,
  ``Sec-Fetch-Site``): a state-changing request from any origin but the server's own (the
  ``Host`` it was sent to) or a configured one is refused with 403, ``Origin: null`` included.
  Requests without either header (curl, the SDKs) are not from a browser and pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from vidgate.errors import CrossOriginRefused, MisdirectedRequest, RequestError, VidgateError

__all__ = ["HostHeader", "OriginPolicy", "is_loopback", "parse_host", "refusal"]

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
# RFC 3986: reg-name = *( unreserved / pct-encoded / sub-delims ); an IPv4address is one too.
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
# A name DNS could give an address: only such names get the loopback and wildcard rules.
_DNS_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CACHED_VERDICTS = 1024  # distinct (Host, local address) pairs remembered per policy


class HostHeader(NamedTuple):
    """A parsed ``Host``: the host, lowercase and normalized (no brackets, no trailing dot), and
    the port (None when absent or empty)."""

    name: str
    port: int | None


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def parse_host(value: str) -> HostHeader:
    """``uri-host [":" port]`` (RFC 9110, 7.2); raises ValueError saying what is wrong."""
    value = value.strip(" \t")
    if value.startswith("["):
        literal, closed, rest = value[1:].partition("]")
        if not closed:
            raise ValueError("an IP literal without its closing ']'")
        name = _ip_literal(literal)
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
        if not _REG_NAME.fullmatch(name):
            raise ValueError("not a host name or address (RFC 3986 reg-name)")
        name = _PCT.sub(_decode_unreserved, name).lower()
        if name.endswith(".") and name != ".":
            name = name[:-1]  # the absolute form of the same name
    return HostHeader(name, _port(rest))


def _ip_literal(literal: str) -> str:
    if _IP_FUTURE.fullmatch(literal):
        return literal.lower()
    if "%" in literal:  # RFC 6874 zone ids are for URIs a user types, never for Host
        raise ValueError("an IPv6 zone id is not allowed in Host")
    try:
        return str(ipaddress.IPv6Address(literal))
    except ValueError:
        raise ValueError("not an IPv6 address between the brackets") from None


def _port(rest: str) -> int | None:
    if rest in ("", ":"):
        return None
    digits = rest[1:]
    if rest[0] != ":" or not digits.isascii() or not digits.isdigit():
        raise ValueError("the port must be digits after ':'")
    port = int(digits)
    if port > 65535:
        raise ValueError("the port must be at most 65535")
    return port


def is_loopback(host: str) -> bool:
    """True for an address (or the name ``localhost``, or a name under it) only this machine can
    reach; brackets around an IPv6 address and a trailing dot are allowed."""
    host = host.strip().strip("[]").lower()
    host = host[:-1] if host.endswith(".") else host
    if host == "localhost" or (host.endswith(".localhost") and _DNS_NAME.fullmatch(host)):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class OriginPolicy:
    """Which ``Host`` names a server answers to and which foreign origins may change state."""

    hosts: frozenset[str]
    host_suffixes: tuple[str, ...]
    any_host: bool
    origins: frozenset[str]
    #: Named in refusals: where the operator lists another host or origin.
    hosts_option: str = "VIDGATE_ALLOWED_HOSTS"
    origins_option: str = "VIDGATE_ALLOWED_ORIGINS"
    _verdicts: dict[tuple[bytes, str | None], VidgateError | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        *,
        bound: str,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        hosts_option: str = "VIDGATE_ALLOWED_HOSTS",
        origins_option: str = "VIDGATE_ALLOWED_ORIGINS",
    ) -> OriginPolicy:
        """From the address the server binds to and the configured hosts and origins (host
        names, ``*.suffix`` or ``*``; origins as ``scheme://host[:port]``), and the options that
        configure them."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        any_host = False
        if bound.strip().strip("[]") not in _WILDCARD_BINDS:
            hosts.add(_normalized(bound))
        for entry in allowed_hosts:
            if entry == "*":
                any_host = True
            elif entry.startswith("*."):
                suffixes.append(entry[1:].lower())
            else:
                hosts.add(_normalized(entry))
        origins = frozenset(o.strip().rstrip("/").lower() for o in allowed_origins)
        return cls(
            frozenset(hosts), tuple(suffixes), any_host, origins, hosts_option, origins_option
        )

    def host_allowed(self, name: str, local_address: str | None) -> bool:
        """Whether ``name`` (as :func:`parse_host` gives it) is one of this server's names."""
        if self.any_host or name in self.hosts or is_loopback(name):
            return True
        if local_address is not None and name == _normalized(local_address):
            return True  # the address this connection arrived on: never a rebound name
        if self.host_suffixes and _DNS_NAME.fullmatch(name):
            return name.endswith(self.host_suffixes)
        return False

    def host_problem(self, raw: bytes, local_address: str | None) -> VidgateError | None:
        """Why a request with ``Host: raw`` is refused; None when it is served (remembered)."""
        key = (raw, local_address)
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        shown = raw.decode("latin-1")[:200]
        verdict: VidgateError | None = None
        try:
            name = parse_host(raw.decode("latin-1")).name
        except ValueError as exc:
            verdict = RequestError(f"Host: {shown!r} is not a valid host[:port] header: {exc}")
        else:
            if not self.host_allowed(name, local_address):
                verdict = MisdirectedRequest(
                    f"this server does not answer to the host {shown!r}; "
                    f"list it in {self.hosts_option} to allow it"
                )
        if len(self._verdicts) >= _CACHED_VERDICTS:
            self._verdicts.clear()  # a client cycling through Host values costs only misses
        self._verdicts[key] = verdict
        return verdict

    def origin_problem(self, origin: str | None, fetch_site: str | None, host: str) -> str | None:
        """Why a state-changing request from a browser is refused; None when it may go on."""
        if origin is None:
            if fetch_site in ("cross-site", "same-site"):
                return f"a {fetch_site} request without Origin may not change anything"
            return None
        normalized = origin.strip().rstrip("/").lower()
        if normalized in self.origins:
            return None
        if normalized == "null":
            return "requests from an opaque origin (Origin: null) may not change anything"
        if _same_origin(normalized, host):
            return None  # the page this server itself served
        return (
            f"cross-origin request from {origin[:200]!r} refused; "
            f"list the origin in {self.origins_option} to allow it"
        )


def _normalized(host: str) -> str:
    try:
        return parse_host(host).name
    except ValueError:
        return host.strip().strip("[]").lower()


def _same_origin(origin: str, host: str) -> bool:
    """Whether ``origin`` (``scheme://host[:port]``) is the one a page served as ``host`` has."""
    parts = urlsplit(origin)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.netloc or parts.path or parts.query or parts.fragment:
        return False
    try:
        theirs, ours = parse_host(parts.netloc), parse_host(host)
    except ValueError:
        return False
    return theirs.name == ours.name and (theirs.port or default) == (ours.port or default)


def refusal(policy: OriginPolicy, scope: Mapping[str, Any]) -> VidgateError | None:
    """Why the ASGI HTTP request ``scope`` is refused (400, 421 or 403); None to serve it."""
    host: bytes | None = None
    origin: bytes | None = None
    fetch_site: bytes | None = None
    for key, value in scope.get("headers") or ():
        if key == b"host":
            if host is not None:
                return RequestError("Host: sent twice; a request has one Host header")
            host = value
        elif key == b"origin":
            origin = value
        elif key == b"sec-fetch-site":
            fetch_site = value
    if host:
        server: Sequence[object] | None = scope.get("server")
        problem = policy.host_problem(host, str(server[0]) if server else None)
        if problem is not None:
            return problem
    if scope["method"] not in _STATE_CHANGING or (origin is None and fetch_site is None):
        return None
    reason = policy.origin_problem(
        origin.decode("latin-1") if origin is not None else None,
        fetch_site.decode("latin-1") if fetch_site is not None else None,
        (host or b"").decode("latin-1"),
    )
    return CrossOriginRefused(reason) if reason is not None else None
