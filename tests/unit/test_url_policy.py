"""The media URL policy as a pure function: hostile URLs refused by name, good references kept."""

from __future__ import annotations

import base64
import ipaddress

import pytest

from vidgate.catalog import MediaKind, get_catalog
from vidgate.errors import MediaRejected
from vidgate.media import addresses, guarded_fetch, url_check
from vidgate.media.addresses import is_public_address
from vidgate.media.url_check import MediaReference, check_media_url

ALLOWED = ["media.example.com", "cdn.example.org.", "BÜCHER.example"]
FIELD = "promptImage"

NOT_AN_IP = "must be a domain name, not an IP address"
NOT_HTTPS = "URL scheme must be https"
USERINFO = "must not contain user credentials"
NOT_LISTED = "is not in VIDGATE_MEDIA_ALLOWED_HOSTS"
LOCAL_NAME = "is a local name"
ODD_CHARS = "must not contain whitespace, control characters or backslashes"
ENCODED_HOST = "must not be percent-encoded"

HOSTILE: list[tuple[str, str]] = [
    # Loopback and private IPv4 in every notation a parser accepts.
    ("https://127.0.0.1/a.png", NOT_AN_IP),
    ("https://127.0.0.1./a.png", NOT_AN_IP),
    ("https://2130706433/a.png", NOT_AN_IP),
    ("https://017700000001/a.png", NOT_AN_IP),
    ("https://0x7f000001/a.png", NOT_AN_IP),
    ("https://0177.0.0.1/a.png", NOT_AN_IP),
    ("https://0x7f.0.0.1/a.png", NOT_AN_IP),
    ("https://0x7f.1/a.png", NOT_AN_IP),
    ("https://0X7F.1/a.png", NOT_AN_IP),
    ("https://127.1/a.png", NOT_AN_IP),
    ("https://127.0.1/a.png", NOT_AN_IP),
    ("https://0/a.png", NOT_AN_IP),
    ("https://0.0.0.0/a.png", NOT_AN_IP),
    ("https://10.0.0.1/a.png", NOT_AN_IP),
    ("https://172.16.0.1/a.png", NOT_AN_IP),
    ("https://192.168.1.1/a.png", NOT_AN_IP),
    ("https://169.254.169.254/latest/meta-data/", NOT_AN_IP),
    ("https://100.64.0.1/a.png", NOT_AN_IP),
    ("https://8.8.8.8/a.png", NOT_AN_IP),  # public, but still not a name
    ("https://１２７．０．０．１/a.png", NOT_AN_IP),  # full-width digits and dots
    ("https://127.0.0.1:443/a.png", NOT_AN_IP),
    # IPv6 literals, including IPv4 carried inside them and zone ids.
    ("https://[::1]/a.png", NOT_AN_IP),
    ("https://[::]/a.png", NOT_AN_IP),
    ("https://[0:0:0:0:0:0:0:1]/a.png", NOT_AN_IP),
    ("https://[::ffff:127.0.0.1]/a.png", NOT_AN_IP),
    ("https://[::ffff:7f00:1]/a.png", NOT_AN_IP),
    ("https://[::127.0.0.1]/a.png", NOT_AN_IP),
    ("https://[2002:7f00:1::]/a.png", NOT_AN_IP),
    ("https://[64:ff9b::7f00:1]/a.png", NOT_AN_IP),
    ("https://[fe80::1%25eth0]/a.png", NOT_AN_IP),
    ("https://[fd00::1]/a.png", NOT_AN_IP),
    ("https://[::1]:443/a.png", NOT_AN_IP),
    ("https://::1/a.png", NOT_AN_IP),
    # Local names, even when an operator allowlists them.
    ("https://localhost/a.png", LOCAL_NAME),
    ("https://localhost./a.png", LOCAL_NAME),
    ("https://LOCALHOST/a.png", LOCAL_NAME),
    ("https://foo.localhost/a.png", LOCAL_NAME),
    # Userinfo and the parser-differential tricks built on it.
    ("https://user@media.example.com/a.png", USERINFO),
    ("https://user:pass@media.example.com/a.png", USERINFO),
    ("https://media.example.com@evil.com/a.png", USERINFO),
    ("https://media.example.com:443@evil.com/a.png", USERINFO),
    ("https://@media.example.com/a.png", USERINFO),
    ("https://evil.com\\@media.example.com/a.png", ODD_CHARS),
    ("https://media.example.com\\.evil.com/a.png", ODD_CHARS),
    ("https://evil.com%40media.example.com/a.png", ENCODED_HOST),
    ("https://media%2eexample.com/a.png", ENCODED_HOST),
    ("https://%6c%6f%63%61%6c%68%6f%73%74/a.png", ENCODED_HOST),
    ("https://media.example.com\t/a.png", ODD_CHARS),
    ("https://media.exa\nmple.com/a.png", ODD_CHARS),
    (" https://media.example.com/a.png", ODD_CHARS),
    ("https://media.example.com/a b.png", ODD_CHARS),
    # Schemes other than https, and https written so that some parser reads another host.
    ("http://media.example.com/a.png", NOT_HTTPS),
    ("ftp://media.example.com/a.png", NOT_HTTPS),
    ("file:///etc/passwd", NOT_HTTPS),
    ("gopher://media.example.com:70/_x", NOT_HTTPS),
    ("ws://media.example.com/a.png", NOT_HTTPS),
    ("javascript:alert(1)", NOT_HTTPS),
    ("//media.example.com/a.png", NOT_HTTPS),
    ("media.example.com/a.png", NOT_HTTPS),
    ("https:media.example.com/a.png", "must start with https://"),
    ("https:/media.example.com/a.png", "must start with https://"),
    ("https:///media.example.com/a.png", "must start with https://"),
    ("https://", "URL has no host"),
    ("https:///", "must start with https://"),
    # Ports other than 443.
    ("https://media.example.com:8443/a.png", "port 8443 is not allowed"),
    ("https://media.example.com:80/a.png", "port 80 is not allowed"),
    ("https://media.example.com:/a.png", "port is malformed"),
    ("https://media.example.com:x/a.png", "port is malformed"),
    # Hosts not on the allowlist, however close.
    ("https://evil.com/a.png", NOT_LISTED),
    ("https://media.example.com.evil.com/a.png", NOT_LISTED),
    ("https://evilmedia.example.com/a.png", NOT_LISTED),
    ("https://sub.media.example.com/a.png", NOT_LISTED),
    ("https://example.com/a.png", NOT_LISTED),
    ("https://media.example.com../a.png", "is not a valid domain name"),
    ("https://media..example.com/a.png", "is not a valid domain name"),
    ("https://-media.example.com/a.png", "is not a valid domain name"),
    # Length.
    ("https://media.example.com/" + "a" * (2049 - len("https://media.example.com/")), "2048"),
]


@pytest.mark.parametrize(("url", "rule"), HOSTILE)
def test_hostile_url_is_rejected_naming_field_and_rule(url: str, rule: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        check_media_url(url, field=FIELD, allowed_hosts=[*ALLOWED, "localhost", "foo.localhost"])
    assert [p.path for p in caught.value.problems] == [FIELD]
    assert rule in str(caught.value)
    assert str(caught.value).startswith(f"{FIELD}: ")


def test_hostile_url_table_covers_2049_characters() -> None:
    assert len(HOSTILE[-1][0]) == 2049


def test_rejection_message_reads_like_the_api_error() -> None:
    with pytest.raises(MediaRejected) as caught:
        check_media_url("http://media.example.com/a.png", field=FIELD, allowed_hosts=ALLOWED)
    assert str(caught.value) == "promptImage: URL scheme must be https"
    with pytest.raises(MediaRejected) as caught:
        check_media_url("https://x.example.com/a.png", field=FIELD, allowed_hosts=ALLOWED)
    assert str(caught.value) == (
        "promptImage: host 'x.example.com' is not in VIDGATE_MEDIA_ALLOWED_HOSTS"
    )


def test_empty_allowlist_accepts_no_external_url() -> None:
    with pytest.raises(MediaRejected, match="VIDGATE_MEDIA_ALLOWED_HOSTS is empty"):
        check_media_url("https://media.example.com/a.png", field=FIELD, allowed_hosts=[])


def test_allowlist_of_only_unusable_entries_counts_as_empty() -> None:
    with pytest.raises(MediaRejected, match="is empty"):
        check_media_url("https://media.example.com/a.png", field=FIELD, allowed_hosts=["", " "])


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://media.example.com/a.png", "media.example.com"),
        ("https://MEDIA.Example.COM/a.png?x=1#frag", "media.example.com"),
        ("HTTPS://media.example.com/a.png", "media.example.com"),
        ("https://media.example.com./a.png", "media.example.com"),
        ("https://media.example.com:443/a.png", "media.example.com"),
        ("https://cdn.example.org/v.mp4", "cdn.example.org"),
        ("https://bücher.example/a.png", "xn--bcher-kva.example"),
        ("https://xn--bcher-kva.example/a.png", "xn--bcher-kva.example"),
        ("https://media.example.com", "media.example.com"),
        ("https://media.example.com/" + "a" * (2048 - len("https://media.example.com/")), None),
    ],
)
def test_allowed_https_url_is_accepted(url: str, host: str | None) -> None:
    ref = check_media_url(url, field=FIELD, allowed_hosts=ALLOWED)
    assert ref == MediaReference(
        field=FIELD, url=url, scheme="https", host=host or "media.example.com"
    )


def test_other_port_is_accepted_only_when_allowed_explicitly() -> None:
    url = "https://media.example.com:8443/a.png"
    ref = check_media_url(url, field=FIELD, allowed_hosts=ALLOWED, allowed_ports={443, 8443})
    assert ref.host == "media.example.com"


@pytest.mark.parametrize("url", ["runway://upload/abc123", "runway://x"])
def test_runway_uri_passes_through(url: str) -> None:
    assert check_media_url(url, field=FIELD, allowed_hosts=[]) == MediaReference(
        field=FIELD, url=url, scheme="runway"
    )


@pytest.mark.parametrize("url", ["runway://", "runway:abc", "runway://a b"])
def test_malformed_runway_uri_is_rejected(url: str) -> None:
    with pytest.raises(MediaRejected):
        check_media_url(url, field=FIELD, allowed_hosts=[])


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("image/png", "image"),
        ("image/jpeg", "image"),
        ("image/webp", "image"),
        ("IMAGE/PNG", "image"),
        ("video/mp4", "video"),
        ("video/quicktime", "video"),
        ("video/webm", "video"),
        ("audio/mpeg", "audio"),
        ("audio/mp3", "audio"),
        ("audio/wav", "audio"),
        ("audio/flac", "audio"),
        ("image/png", None),
        ("audio/ogg", None),
    ],
)
def test_good_data_uri_is_accepted(mime: str, kind: MediaKind | None) -> None:
    url = _data_uri(mime, PNG)
    ref = check_media_url(url, field=FIELD, allowed_hosts=[], kind=kind)
    assert ref == MediaReference(
        field=FIELD, url=url, scheme="data", mime_type=mime.lower(), data_bytes_len=len(PNG)
    )


def test_data_uri_may_carry_parameters_before_base64() -> None:
    url = "data:image/png;name=a.png;base64," + base64.b64encode(PNG).decode()
    assert (
        check_media_url(url, field=FIELD, allowed_hosts=[], kind="image").mime_type == "image/png"
    )


def test_data_uri_is_not_subject_to_the_url_length_limit() -> None:
    url = _data_uri("image/png", b"\0" * 10_000)
    assert len(url) > 2048
    assert check_media_url(url, field=FIELD, allowed_hosts=[]).data_bytes_len == 10_000


@pytest.mark.parametrize(
    ("url", "kind", "rule"),
    [
        ("data:;base64,iVBORw0KGgo=", "image", "must declare a media type"),
        ("data:base64,iVBORw0KGgo=", "image", "is not an accepted image type"),
        ("data:,hello", None, "must declare a media type"),
        (_data_uri("video/mp4", PNG), "image", "'video/mp4' is not an accepted image type"),
        (_data_uri("image/png", PNG), "video", "'image/png' is not an accepted video type"),
        (_data_uri("image/png", PNG), "audio", "is not an accepted audio type"),
        (_data_uri("image/gif", PNG), "image", "'image/gif' is not an accepted image type"),
        (_data_uri("image/svg+xml", PNG), None, "is not an accepted media type"),
        (_data_uri("application/octet-stream", PNG), None, "is not an accepted media type"),
        (_data_uri("text/html", PNG), None, "is not an accepted media type"),
        ("data:image/png,%89PNG", "image", "must be base64-encoded"),
        ("data:image/png;charset=utf-8,abc", "image", "must be base64-encoded"),
        ("data:image/png;base64", "image", "no ','"),
        ("data:image/png;base64,not*base64!", "image", "not valid base64"),
        ("data:image/png;base64,iVBORw0KGgo", "image", "not valid base64"),  # bad padding
        ("data:image/png;base64,iVBO Rw0KGgo=", "image", "not valid base64"),
        ("data:image/png;base64,iVBO-w0_Ggo=", "image", "not valid base64"),  # url-safe alphabet
        ("data:image/png;base64,", "image", "holds no data"),
    ],
)
def test_bad_data_uri_is_rejected(url: str, kind: MediaKind | None, rule: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        check_media_url(url, field=FIELD, allowed_hosts=ALLOWED, kind=kind)
    assert rule in str(caught.value)
    assert caught.value.problems[0].path == FIELD


def test_data_uri_cap_is_the_catalogs_on_the_uri_as_sent() -> None:
    # One cap, in models.toml: the whole URI as sent, checked before anything is decoded.
    for kind in ("image", "video", "audio"):
        cap = get_catalog().media[MediaKind(kind)].data_uri_max_bytes
        mime = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}[kind]
        prefix = f"data:{mime};base64,"
        fits = prefix + "A" * ((cap - len(prefix)) // 4 * 4)
        assert check_media_url(fits, field=FIELD, allowed_hosts=[], kind=kind)
        over = prefix + "A" * ((cap - len(prefix)) // 4 * 4 + 4)
        with pytest.raises(MediaRejected, match=f"{kind} data URIs may be at most 5 MB"):
            check_media_url(over, field=FIELD, allowed_hosts=[], kind=kind)


# --- is_public_address ----------------------------------------------------------------------------

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.127.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",
    "198.19.255.255",
    "192.88.99.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::127.0.0.1",  # IPv4-compatible
    "::8.8.8.8",  # IPv4-compatible: deprecated, never dialled
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:0",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "2001::1",  # Teredo
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo with public-looking parts
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::7f00:1",  # local-use NAT64
    "fc00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "2001:2::1",  # benchmarking
    "100::1",  # discard-only
    "5f00::1",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_address(address: str) -> None:
    assert is_public_address(address) is False
    if "%" not in address:
        assert is_public_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public_address(address: str) -> None:
    assert is_public_address(address) is True
    assert is_public_address(ipaddress.ip_address(address)) is True


def test_exported_names_exist() -> None:
    for module in (addresses, guarded_fetch, url_check):
        for name in module.__all__:
            assert hasattr(module, name), name
