"""The Host header as RFC 9110 / RFC 3986 define it, and the Host and Origin rules built on it
(the servers keeping them: tests/acceptance/test_browser_origin.py, tests/api/test_host_header.py,
tests/emulator/test_emulator_host_guard.py)."""

from __future__ import annotations

from typing import Any

import pytest

from vidgate.errors import CrossOriginRefused, MisdirectedRequest, RequestError
from vidgate.http_guard import HostHeader, OriginPolicy, is_loopback, parse_host, refusal


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("127.0.0.1", HostHeader("127.0.0.1", None)),
        ("127.0.0.1:8000", HostHeader("127.0.0.1", 8000)),
        ("LocalHost", HostHeader("localhost", None)),
        ("localhost.:80", HostHeader("localhost", 80)),  # the absolute form of the name
        ("vidgate.localhost:", HostHeader("vidgate.localhost", None)),  # port = *DIGIT: empty
        ("[::1]", HostHeader("::1", None)),
        ("[::1]:8000", HostHeader("::1", 8000)),
        ("[::1]:", HostHeader("::1", None)),
        ("[0:0:0:0:0:0:0:1]:80", HostHeader("::1", 80)),
        ("[2001:DB8::A]", HostHeader("2001:db8::a", None)),
        ("[v1.fe80::a+en1]", HostHeader("v1.fe80::a+en1", None)),  # IPvFuture
        ("video.example.com:00443", HostHeader("video.example.com", 443)),
        ("a_b-c.example", HostHeader("a_b-c.example", None)),
        ("%6c%6Fcalhost", HostHeader("localhost", None)),  # pct-encoded unreserved: decoded
        ("a%2Fb.example", HostHeader("a%2fb.example", None)),  # others stay encoded
        ("sub!$&'()*+,;=.example", HostHeader("sub!$&'()*+,;=.example", None)),  # sub-delims
        (" 127.0.0.1 ", HostHeader("127.0.0.1", None)),  # optional whitespace
    ],
)
def test_good_host_forms(value: str, parsed: HostHeader) -> None:
    assert parse_host(value) == parsed


@pytest.mark.parametrize(
    "value",
    [
        "evil.example/x.localhost",  # the issue's: a path is no part of a host
        "evil.example?x.localhost",
        "evil.example#x.localhost",
        "user@127.0.0.1",
        "evil.example\\x.localhost",
        "a b.localhost",
        "",
        ":8000",
        "::1",  # an IPv6 address needs its brackets
        "[::1",
        "[::1]x",
        "[fe80::1%25eth0]",  # a zone id
        "[fe80::1%eth0]",
        "[not-an-address]",
        "[127.0.0.1]",
        "127.0.0.1:80:80",
        "127.0.0.1:http",
        "127.0.0.1:-1",
        "127.0.0.1:65536",
        "127.0.0.1:٨٠",  # digits, but not ASCII ones
        "a%zz.example",
        "a%2.example",
        "caf\u00e9.example",  # a host is ASCII (IDNs travel as xn--)
        "localhost\x00.evil.example",
    ],
)
def test_bad_host_forms(value: str) -> None:
    with pytest.raises(ValueError):
        parse_host(value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("vidgate.localhost", True),
        ("a.b.localhost.", True),
        ("127.0.0.2", True),
        ("[::1]", True),
        ("evil.example/x.localhost", False),
        ("a%2fb.localhost", False),  # not a name DNS could resolve
        ("localhost.evil.example", False),
        ("127.1", False),  # shorthand a browser would normalize first
        ("0x7f.0.0.1", False),
        ("127.000.000.001", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _scope(method: str = "GET", server: str | None = "127.0.0.1", **headers: str) -> Any:
    pairs = [
        (k.replace("_", "-").lower().encode(), v.encode("latin-1")) for k, v in headers.items()
    ]
    return {"method": method, "headers": pairs, "server": (server, 8000) if server else None}


POLICY = OriginPolicy.build(
    bound="0.0.0.0",
    allowed_hosts=["video.example.com", "*.apps.example"],
    allowed_origins=["https://app.example"],
)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Host": "127.0.0.1:8000"}, None),
        ({"Host": "localhost:8000"}, None),
        ({"Host": "video.example.com"}, None),
        ({"Host": "VIDEO.example.com.:443"}, None),
        ({"Host": "a.apps.example"}, None),
        ({"Host": "10.0.0.5:8000"}, MisdirectedRequest),  # not the address it arrived on
        ({"Host": "a%2fb.apps.example"}, MisdirectedRequest),  # not a DNS name: no wildcard
        ({"Host": "apps.example.org"}, MisdirectedRequest),
        ({"Host": "evil.example/x.localhost"}, RequestError),
        ({"Host": "[fe80::1%25lo]:8000"}, RequestError),
        ({}, None),  # HTTP/1.0 without Host: no browser sends that
    ],
)
def test_host_verdicts(headers: dict[str, str], refused: type[Exception] | None) -> None:
    error = refusal(POLICY, _scope(**headers))
    if refused is None:
        assert error is None
    else:
        assert type(error) is refused, error
    assert refusal(POLICY, _scope(**headers)) is error  # remembered


def test_two_host_headers_are_a_bad_request() -> None:
    scope = _scope(Host="127.0.0.1")
    scope["headers"].append((b"host", b"evil.example"))
    error = refusal(POLICY, scope)
    assert type(error) is RequestError and "twice" in str(error)


def test_the_address_a_connection_arrived_on_is_served() -> None:
    assert refusal(POLICY, _scope(Host="10.0.0.5:8000", server="10.0.0.5")) is None
    assert refusal(POLICY, _scope(Host="[2001:db8::5]", server="2001:DB8::5")) is None


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "http://127.0.0.1:8000"}, False),  # its own page
        ({"Origin": "http://127.0.0.1:8000/"}, False),
        ({"Origin": "https://app.example"}, False),  # configured
        ({"Origin": "http://127.0.0.9:1234"}, True),  # another loopback page
        ({"Origin": "http://127.0.0.1:8001"}, True),  # another port
        ({"Origin": "https://127.0.0.1"}, True),  # another scheme (so another port)
        ({"Origin": "http://user@127.0.0.1:8000"}, True),  # not an origin
        ({"Origin": "http://127.0.0.1:8000/x.localhost"}, True),
        ({"Origin": "null"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, False),
        ({}, False),  # curl, the SDKs
    ],
)
def test_origin_verdicts(headers: dict[str, str], refused: bool) -> None:
    error = refusal(POLICY, _scope("POST", Host="127.0.0.1:8000", **headers))
    assert (type(error) is CrossOriginRefused) is refused, error
    assert refusal(POLICY, _scope("GET", Host="127.0.0.1:8000", **headers)) is None  # reads pass


def test_default_ports_are_the_same_origin() -> None:
    policy = OriginPolicy.build(bound="127.0.0.1", allowed_hosts=["video.example.com"])
    scope = _scope("POST", Host="video.example.com", Origin="https://video.example.com:443")
    assert refusal(policy, scope) is None
    scope = _scope("POST", Host="video.example.com:80", Origin="http://video.example.com")
    assert refusal(policy, scope) is None


def test_refusals_name_the_option_to_change() -> None:
    policy = OriginPolicy.build(bound="127.0.0.1", hosts_option="--allowed-hosts")
    error = refusal(policy, _scope(Host="attacker.example"))
    assert error is not None and "--allowed-hosts" in str(error)
