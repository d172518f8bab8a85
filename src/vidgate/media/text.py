"""THE text rule: what a string a client sends may hold, wherever it arrives.

A string is refused when it holds

* a lone surrogate (``"\\ud800"``, which JSON allows): it cannot be encoded again, so every later
  step (the database, the provider, an answer echoing it) would fail;
* a C0 control character other than tab, line feed and carriage return (U+0000 to U+001F): NUL
  cannot be stored by PostgreSQL (SQLite would keep it, so the two databases would disagree), and
  the others mean nothing in a prompt or a name while they can hide text from a terminal or a log.

The JSON body check (every string and key of every JSON body), the multipart form reader (every
form field) and the request validator (every field of a generation) ask :func:`text_problem`.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["is_valid_text", "printable", "text_problem"]

_REFUSED: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def is_valid_text(text: str) -> bool:
    """False when ``text`` cannot be encoded as UTF-8 (it holds a lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused (the first offending character named), or None when it is not."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return "must be valid Unicode text (it holds a lone surrogate)"
    return (
        f"holds the control character U+{ord(char):04X}; "
        "only tab, line feed and carriage return are allowed"
    )


def printable(text: str) -> str:
    """``text`` with every refused character written as an escape (``\\ud800``, ``\\u0000``), so
    a problem naming it can be sent and logged."""
    if _REFUSED.search(text) is None:
        return text
    return _REFUSED.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
