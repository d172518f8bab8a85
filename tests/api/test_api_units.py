"""Pure pieces of the API: byte ranges, the rate limiter, names, paths, loopback."""

from __future__ import annotations

import pytest

from vidgate.api.ranges import parse_range
from vidgate.api.ratelimit import RateLimiter
from vidgate.api.serve import is_loopback
from vidgate.errors import RangeNotSatisfiable
from vidgate.intake.media_policy import set_at
from vidgate.tenancy.uploads import upload_filename


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 100)),
        ("bytes=100-", (100, 1000)),
        ("bytes=-100", (900, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=990-5000", (990, 1000)),
        ("bytes=999-999", (999, 1000)),
        ("bytes=0-1,5-6", None),  # several ranges: ignored, the whole file is sent
        ("bytes=5-1", None),  # last before first: invalid, ignored
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    result = parse_range(header, 1000)
    assert (None if result is None else (result.start, result.end)) == expected


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=" + "9" * 30 + "-"]
)
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, 1000)
    assert info.value.size == 1000


def test_empty_file_has_no_satisfiable_range() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-1", 0)


def test_content_range() -> None:
    part = parse_range("bytes=10-19", 100)
    assert part is not None and part.content_range == "bytes 10-19/100" and part.length == 10


def test_rate_limiter_is_a_token_bucket_per_key() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # another key has its own bucket
    now[0] = 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    now[0] = 100.0
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # refilled to the burst only
    assert limiter.take("a") > 0


def test_rate_limiter_off() -> None:
    limiter = RateLimiter(0, 1)
    assert not limiter.enabled
    assert all(limiter.take("a") == 0 for _ in range(100))


@pytest.mark.parametrize(
    ("name", "mime", "expected"),
    [
        ("holiday.mp4", "image/png", "holiday.png"),
        ("clip", "video/mp4", "clip.mp4"),
        ("../../etc/passwd", "image/jpeg", "passwd.jpg"),
        ("C:\\Users\\me\\cat.jpeg", "image/jpeg", "cat.jpg"),
        ("", "video/quicktime", "upload.mov"),
        (None, "audio/mpeg", "upload.mp3"),
        ("a b;rm -rf.webm", "video/webm", "a b_rm -rf.webm"),
        ("...", "image/webp", "upload.webp"),
    ],
)
def test_upload_filename(name: str | None, mime: str, expected: str) -> None:
    assert upload_filename(name, mime) == expected


def test_set_at() -> None:
    body = {"promptImage": [{"uri": "a", "position": "first"}], "character": {"uri": "b"}, "x": 1}
    set_at(body, "promptImage[0].uri", "A")
    set_at(body, "character.uri", "B")
    set_at(body, "x", 2)
    assert body == {
        "promptImage": [{"uri": "A", "position": "first"}],
        "character": {"uri": "B"},
        "x": 2,
    }


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
