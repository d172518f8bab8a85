"""The one wall clock: timezone-aware UTC now.

Everything that stamps or compares times calls :func:`utcnow` (classes that tests drive by hand
take it as an injectable ``clock`` parameter defaulting to it), so no second notion of "now" can
creep in (a naive local time, say).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)
