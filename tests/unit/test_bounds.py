"""What a file declares is held to the catalog's limits before anything is decoded: by the probe,
and by the frame extraction behind posters and chains."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from media_bombs import jpeg_bomb, long_video, png_bomb, video_frame_bomb, webp_bomb
from vidgate.catalog import MediaKind, get_catalog
from vidgate.errors import MediaRejected
from vidgate.media.frames import extract_frame
from vidgate.media.probe import probe_media

LIMITS = get_catalog().media

BOMBS: list[tuple[Callable[[], bytes], str]] = [
    (png_bomb, "images may have at most 25,000,000"),
    (jpeg_bomb, "images may have at most 25,000,000"),
    (webp_bomb, "images may have at most 25,000,000"),
    (video_frame_bomb, "is 16000x16000 (256,000,000 pixels); video frames may have at most"),
]


@pytest.mark.parametrize(("make", "words"), BOMBS, ids=lambda v: getattr(v, "__name__", ""))
def test_bombs_are_refused_by_their_headers(make: Callable[[], bytes], words: str) -> None:
    for check in (
        lambda: probe_media(make(), field="promptImage", limits=LIMITS),
        lambda: extract_frame(make(), "first", field="promptImage"),
        lambda: extract_frame(make(), "last", field="promptImage"),
    ):
        with pytest.raises(MediaRejected) as caught:
            check()
        [problem] = caught.value.problems
        assert problem.path == "promptImage" and words in problem.message


def test_a_video_over_the_length_cap_is_refused_before_demuxing() -> None:
    with pytest.raises(MediaRejected, match="is 700 s long; videos may be at most 600 s"):
        probe_media(long_video(), field="promptVideo", limits=LIMITS)
    assert probe_media(long_video()).duration_seconds == pytest.approx(700, abs=1)  # no limits


def test_the_limits_live_in_the_catalog() -> None:
    image, video = LIMITS[MediaKind.IMAGE], LIMITS[MediaKind.VIDEO]
    assert (image.max_pixels, video.max_pixels) == (25_000_000, 9_437_184)
    assert (video.max_seconds, video.max_frames) == (600, 36_000)
