"""The streamed multipart intake: every parser refusal is a ValidationFailed (a 422), and no
temporary file is left behind."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vidgate.errors import ValidationFailed
from vidgate.media.multipart import receive_multipart


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize("length", [257, 1000])
async def test_an_overlong_boundary_is_a_422(tmp_path: Path, length: int) -> None:
    boundary = "b" * length
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        f"data\r\n--{boundary}--\r\n"
    ).encode()
    with pytest.raises(ValidationFailed) as caught:
        await receive_multipart(
            chunks(body),
            f"multipart/form-data; boundary={boundary}",
            max_bytes=1024,
            directory=tmp_path,
        )
    assert "multipart body is malformed" in str(caught.value)
    assert os.listdir(tmp_path) == []


async def test_a_form_is_received(tmp_path: Path) -> None:
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="model"\r\n\r\ngen4.5\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        b"data\r\n--xyz--\r\n"
    )
    received = await receive_multipart(
        chunks(body[:40], body[40:]),
        "multipart/form-data; boundary=xyz",
        max_bytes=1024,
        directory=tmp_path,
    )
    assert (received.filename, received.bytes, received.fields) == ("a.png", 4, {"model": "gen4.5"})
    assert received.path.read_bytes() == b"data"
