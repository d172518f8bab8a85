"""The guarded fetch against real sockets on loopback.

A canary listener counts every TCP connection that reaches it: each hostile URL must be refused
*and* the canary must have seen nothing, which proves the refusal came before the connection.
A real TLS server (self-signed certificate for ``media.test``) stands in for an allowed host.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
import pytest

from tls_support import Certificate, self_signed_certificate
from vidgate.errors import MediaRejected, PayloadTooLarge
from vidgate.media.guarded_fetch import FetchedMedia, fetch_media, guarded_client

FIELD = "promptImage"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
CAP = 10_000

# What the test resolver answers; the guarded backend vets whatever comes back.
TEST_DNS: dict[str, list[str]] = {
    "media.test": ["127.0.0.1"],
    "v6.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "mappedhex.test": ["::ffff:7f00:1"],
    "compat.test": ["::127.0.0.1"],
    "sixtofour.test": ["2002:7f00:1::"],
    "nat64.test": ["64:ff9b::7f00:1"],
    "teredo.test": ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    "zone.test": ["fe80::1%lo"],
    "mixed.test": ["8.8.8.8", "127.0.0.1"],  # one public, one loopback: the rebinding shape
    "private.test": ["10.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "cgnat.test": ["100.64.0.1"],
    "unspecified.test": ["0.0.0.0"],
    "garbage.test": ["not-an-address"],
    "nothing.test": [],
}


async def fake_dns(host: str) -> list[str]:
    try:
        return TEST_DNS[host.lower().removesuffix(".")]
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "unknown test name") from None


class Canary:
    """A listener that never answers; it only counts the connections the kernel completed."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.port = self._bind_both()
        self.count = 0

    def _bind_both(self) -> int:
        for _ in range(20):
            v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            v4.bind(("127.0.0.1", 0))
            port: int = v4.getsockname()[1]
            self.sockets = [v4]
            if socket.has_ipv6:
                v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                try:
                    v6.bind(("::1", port))
                except OSError:
                    v6.close()
                    v4.close()
                    continue
                self.sockets.append(v6)
            break
        for sock in self.sockets:
            sock.listen(128)
            sock.setblocking(False)
        return port

    def connections(self) -> int:
        """Accept everything queued so far; a connect that completed is queued even if dropped."""
        for sock in self.sockets:
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    break
                conn.close()
                self.count += 1
        return self.count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), "media.test")


@dataclass
class MediaServer:
    """A tiny HTTPS server for ``media.test`` with one canned answer per path."""

    redirect_to: str
    port: int = 0
    connections: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def answer(self, path: str) -> tuple[bytes, bytes | Sequence[bytes]]:
        ok = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
        if path == "/ok.png":
            return ok + b"Content-Length: %d\r\n\r\n" % len(PNG), PNG
        if path == "/redirect":
            location = self.redirect_to.encode()
            return (
                b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n",
                b"",
            )
        if path == "/big-declared":
            return ok + b"Content-Length: %d\r\n\r\n" % (CAP * 10), b"\0" * (CAP * 10)
        if path == "/big-chunked":
            chunk = b"\0" * 4096
            return ok + b"Transfer-Encoding: chunked\r\n\r\n", [
                b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(100)
            ] + [b"0\r\n\r\n"]
        if path == "/page.html":
            return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\n", b"hi"
        if path == "/gzip.png":
            return ok + b"Content-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", b"abc"
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", b""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.connections += 1
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode()
            head, body = self.answer(path)
            writer.write(head)
            for part in [body] if isinstance(body, bytes) else body:
                writer.write(part)
                await writer.drain()
            await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await writer.wait_closed()


@pytest.fixture
async def media_server(certificate: Certificate, canary: Canary) -> AsyncIterator[MediaServer]:
    server = MediaServer(redirect_to=f"https://media.test:{canary.port}/ok.png")
    listener = await asyncio.start_server(
        server.handle, "127.0.0.1", 0, ssl=certificate.server_context()
    )
    server.port = listener.sockets[0].getsockname()[1]
    yield server
    listener.close()
    for task in list(server.tasks):
        task.cancel()
    await asyncio.gather(*server.tasks, return_exceptions=True)
    await listener.wait_closed()


@pytest.fixture
async def strict_client(certificate: Certificate) -> AsyncIterator[httpx.AsyncClient]:
    """A guarded client for the test names, with loopback still refused (the production rule)."""
    async with guarded_client(
        resolver=fake_dns, ssl_context=certificate.client_context()
    ) as client:
        yield client


@pytest.fixture
async def loopback_client(certificate: Certificate) -> AsyncIterator[httpx.AsyncClient]:
    """The same, with the test-only permission to dial 127.0.0.0/8 and ::1."""
    async with guarded_client(
        resolver=fake_dns,
        ssl_context=certificate.client_context(),
        allow_loopback_for_tests=True,
    ) as client:
        yield client


async def test_the_canary_counts_a_connection_the_flag_allows(
    canary: Canary, loopback_client: httpx.AsyncClient
) -> None:
    """Proves the canary would have seen a connection: media.test -> 127.0.0.1 with the flag."""
    with pytest.raises(MediaRejected, match="timed out"):
        await fetch_media(
            f"https://media.test:{canary.port}/ok.png",
            field=FIELD,
            allowed_hosts=["media.test"],
            allowed_ports={canary.port},
            max_bytes=CAP,
            dest=io.BytesIO(),
            client=loopback_client,
            deadline_seconds=0.2,
        )
    assert canary.connections() == 1


def hostile_urls(port: int) -> list[str]:
    numeric = [
        "127.0.0.1",
        "2130706433",
        "017700000001",
        "0x7f000001",
        "0177.0.0.1",
        "0x7f.1",
        "127.1",
        "0",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[2002:7f00:1::]",
        "[64:ff9b::7f00:1]",
        "[fe80::1%25lo]",
        "localhost",
        "localhost.",
        "LOCALHOST",
        "foo.localhost",
    ]
    names = sorted(TEST_DNS)
    userinfo = [
        f"https://user@media.test:{port}/ok.png",
        f"https://user:pass@media.test:{port}/ok.png",
        f"https://media.test:{port}@127.0.0.1:{port}/ok.png",
        f"https://127.0.0.1:{port}\\@media.test:{port}/ok.png",
        f"https://127.0.0.1:{port}%40media.test:{port}/ok.png",
    ]
    schemes = [
        f"http://media.test:{port}/ok.png",
        f"http://127.0.0.1:{port}/ok.png",
        f"ftp://127.0.0.1:{port}/ok.png",
        f"gopher://127.0.0.1:{port}/_x",
        "file:///etc/passwd",
        f"https:127.0.0.1:{port}/ok.png",
        f"https:///127.0.0.1:{port}/ok.png",
    ]
    return (
        [f"https://{host}:{port}/ok.png" for host in numeric + names]
        + userinfo
        + schemes
        + [f"https://media.test:{port}/" + "a" * 2048, f"https://other.test:{port}/ok.png"]
    )


ALLOWED_NAMES = [*TEST_DNS, "localhost", "foo.localhost", "127.0.0.1"]


async def test_every_hostile_url_is_refused_before_any_connection(
    canary: Canary, strict_client: httpx.AsyncClient
) -> None:
    urls = hostile_urls(canary.port)
    for url in urls:
        dest = io.BytesIO()
        with pytest.raises(MediaRejected) as caught:
            await fetch_media(
                url,
                field=FIELD,
                allowed_hosts=ALLOWED_NAMES,
                allowed_ports={443, canary.port},
                max_bytes=CAP,
                dest=dest,
                client=strict_client,
            )
        assert [p.path for p in caught.value.problems] == [FIELD], url
        assert dest.getvalue() == b"", url
    assert canary.connections() == 0


async def test_names_resolving_to_non_public_addresses_are_refused_at_connect_time(
    canary: Canary, strict_client: httpx.AsyncClient
) -> None:
    for name in sorted(TEST_DNS):
        with pytest.raises((MediaRejected, httpx.ConnectError)) as caught:
            await fetch_media(
                f"https://{name}:{canary.port}/ok.png",
                field=FIELD,
                allowed_hosts=[name],
                allowed_ports={canary.port},
                max_bytes=CAP,
                dest=io.BytesIO(),
                client=strict_client,
            )
        assert isinstance(caught.value, MediaRejected)
        if name != "nothing.test":
            assert "not a public address" in str(caught.value), name
    assert canary.connections() == 0


async def test_the_backend_vets_even_without_the_url_check(
    canary: Canary, strict_client: httpx.AsyncClient
) -> None:
    """The client alone (as webhooks will use it) refuses non-public targets, any notation."""
    port = canary.port
    targets = [
        f"https://127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}/",
        f"https://[::1]:{port}/",
        f"https://[::ffff:127.0.0.1]:{port}/",
        f"https://media.test:{port}/",
        f"https://mixed.test:{port}/",
        f"http://mapped.test:{port}/",
    ]
    for url in targets:
        with pytest.raises(MediaRejected, match="not a public address"):
            await strict_client.get(url)
    assert canary.connections() == 0


async def test_system_resolver_names_for_loopback_are_refused(canary: Canary) -> None:
    port = canary.port
    async with guarded_client() as client:
        for url in [
            f"http://localhost:{port}/",
            f"http://2130706433:{port}/",
            f"http://0x7f.1:{port}/",
            f"http://127.1:{port}/",
        ]:
            with pytest.raises(MediaRejected, match="not a public address"):
                await client.get(url)
    assert canary.connections() == 0


async def test_loopback_is_refused_unless_the_test_flag_is_set(
    media_server: MediaServer, strict_client: httpx.AsyncClient
) -> None:
    with pytest.raises(
        MediaRejected, match=r"'media\.test' resolves to 127\.0\.0\.1, not a public address"
    ):
        await fetch_media(
            f"https://media.test:{media_server.port}/ok.png",
            field=FIELD,
            allowed_hosts=["media.test"],
            allowed_ports={media_server.port},
            max_bytes=CAP,
            dest=io.BytesIO(),
            client=strict_client,
        )
    assert media_server.connections == 0


async def test_the_test_flag_still_refuses_mapped_and_private_addresses(
    canary: Canary, loopback_client: httpx.AsyncClient
) -> None:
    for name in ["mapped.test", "compat.test", "private.test", "metadata.test", "cgnat.test"]:
        with pytest.raises(MediaRejected, match="not a public address"):
            await loopback_client.get(f"https://{name}:{canary.port}/")
    assert canary.connections() == 0


async def fetch(client: httpx.AsyncClient, server: MediaServer, path: str) -> FetchedMedia:
    dest = io.BytesIO()
    result = await fetch_media(
        f"https://media.test:{server.port}{path}",
        field=FIELD,
        allowed_hosts=["media.test"],
        allowed_ports={server.port},
        max_bytes=CAP,
        dest=dest,
        kind="image",
        client=client,
    )
    assert dest.getvalue() == PNG
    return result


async def test_allowed_host_is_fetched_over_tls_by_name(
    media_server: MediaServer, loopback_client: httpx.AsyncClient
) -> None:
    result = await fetch(loopback_client, media_server, "/ok.png")
    assert result == FetchedMedia(mime_type="image/png", bytes=len(PNG))
    assert media_server.connections == 1


async def test_redirect_is_not_followed(
    media_server: MediaServer, canary: Canary, loopback_client: httpx.AsyncClient
) -> None:
    with pytest.raises(MediaRejected) as caught:
        await fetch(loopback_client, media_server, "/redirect")
    assert str(caught.value) == f"{FIELD}: the server answered 302; redirects are not followed"
    assert media_server.connections == 1
    assert canary.connections() == 0


@pytest.mark.parametrize("path", ["/big-declared", "/big-chunked"])
async def test_body_over_the_cap_is_aborted(
    media_server: MediaServer, loopback_client: httpx.AsyncClient, path: str
) -> None:
    dest = io.BytesIO()
    with pytest.raises(PayloadTooLarge, match=f"{FIELD}: media is larger than {CAP} bytes"):
        await fetch_media(
            f"https://media.test:{media_server.port}{path}",
            field=FIELD,
            allowed_hosts=["media.test"],
            allowed_ports={media_server.port},
            max_bytes=CAP,
            dest=dest,
            client=loopback_client,
        )
    assert len(dest.getvalue()) <= CAP


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("/page.html", "Content-Type 'text/html' is not an accepted image type"),
        ("/gzip.png", "'gzip'-encoded body"),
        ("/missing.png", "the server answered 404, not 200"),
    ],
)
async def test_bad_responses_are_refused(
    media_server: MediaServer, loopback_client: httpx.AsyncClient, path: str, rule: str
) -> None:
    with pytest.raises(MediaRejected, match=rule):
        await fetch(loopback_client, media_server, path)


async def test_unknown_name_and_untrusted_certificate_fail_with_the_field(
    media_server: MediaServer,
) -> None:
    async with guarded_client(resolver=fake_dns, allow_loopback_for_tests=True) as client:
        for host in ["media.test", "other.test"]:
            with pytest.raises(MediaRejected, match="could not fetch the URL") as caught:
                await fetch_media(
                    f"https://{host}:{media_server.port}/ok.png",
                    field=FIELD,
                    allowed_hosts=[host],
                    allowed_ports={media_server.port},
                    max_bytes=CAP,
                    dest=io.BytesIO(),
                    client=client,
                )
            assert caught.value.problems[0].path == FIELD


async def test_non_https_references_are_not_fetched() -> None:
    for url in ["runway://upload/abc", "data:image/png;base64,iVBORw0KGgo="]:
        with pytest.raises(MediaRejected, match="only https URLs are fetched"):
            await fetch_media(url, field=FIELD, allowed_hosts=[], max_bytes=CAP, dest=io.BytesIO())
