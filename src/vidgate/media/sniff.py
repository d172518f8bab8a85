"""What a file is by its first bytes (its signature), never by its name or declared type."""

from __future__ import annotations

from typing import Final

__all__ = ["SNIFF_BYTES", "sniff_mime"]

SNIFF_BYTES: Final = 64
"""How many leading bytes :func:`sniff_mime` needs to tell every supported type apart."""


# ISO-BMFF major brands that are not plain MP4 video.
_FTYP_BRANDS: Final = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heic",
}


def sniff_mime(head: bytes) -> str | None:
    """The media type the leading bytes announce, or ``None`` if no known signature matches.

    Pass at least the first 64 bytes; fewer may still match the short signatures.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(
            head[8:12]
        )
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # The EBML header names the DocType within its first few dozen bytes.
        return "video/webm" if b"webm" in head[:SNIFF_BYTES] else "video/x-matroska"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "video/ogg" if b"\x80theora" in head[:SNIFF_BYTES] else "audio/ogg"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # 12-bit sync, MPEG layer 0: an ADTS AAC frame
            return "audio/aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # 11-bit sync, layer I-III: MPEG audio
            return "audio/mpeg"
    return None
