"""Which IP addresses are public, hence safe for vidgate to dial on a client's behalf.

Listed explicitly (not the stdlib's ``is_global`` alone) because the stdlib's tables differ between
Python releases, and IPv6 forms that carry an IPv4 address must be judged by the address they reach.
"""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["IPAddress", "is_public_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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
