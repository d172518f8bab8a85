"""How validation problems are worded: value types, lists of allowed values, durations."""

from __future__ import annotations

import math
from collections.abc import Sequence

from vidgate.catalog import FieldSpec
from vidgate.media.text import printable

__all__ = [
    "allowed_values",
    "durations",
    "is_number",
    "is_whole",
    "listed",
    "printable_path",
    "type_name",
    "utf16_units",
]


def printable_path(path: str) -> str:
    """``path`` with any refused character (a lone surrogate, a control character) written as an
    escape, so a problem naming it can be sent."""
    return printable(path)


def is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def allowed_values(spec: FieldSpec) -> str:
    if spec.type == "duration":
        return f"; {durations(spec)}"
    if spec.type == "choice" and spec.values:
        return f"; one of {listed(spec.values)}"
    return ""


def is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def type_name(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def listed(values: Sequence[object]) -> str:
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def durations(spec: FieldSpec) -> str:
    if spec.values is not None:
        text = listed(spec.values)
    else:
        text = (
            f"{spec.min:g} to {spec.max:g} seconds"
            if spec.min is not None and spec.max
            else "a whole number of seconds"
        )
    return f"{text} or 'auto'" if spec.auto else text
