"""The CLI's one reporter: results on stdout (tables, or JSON with ``--json``), notes and errors on
stderr, one exit code per kind of failure.

Tables never cut an id or a model name: those columns keep their full width, and when the
terminal is too narrow the least useful columns are dropped (a note on stderr says which) before
any text is shortened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from vidgate.errors import ValidationFailed, VidgateError

__all__ = [
    "Column",
    "Failed",
    "err",
    "fail",
    "json_option",
    "out",
    "plural",
    "print_json",
    "print_table",
    "run",
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Width a wrapping column still needs to be readable; below it the column is dropped instead.
_MIN_WRAP_WIDTH = 10


class Failed(Exception):
    """Stop the command with this exit code; the message is printed already."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _print_error(exc: VidgateError) -> None:
    if isinstance(exc, ValidationFailed):
        err.print(f"[red]error:[/red] {exc.code}")
        for problem in exc.problems:
            err.print(f"  {problem.path or '(request)'}: {problem.message}")
    else:
        err.print(f"[red]error:[/red] {exc}")


def fail(exc: VidgateError) -> typer.Exit:
    """Print ``exc`` on stderr; the exit (code 2) to raise."""
    _print_error(exc)
    return typer.Exit(code=2)


def run(action: Callable[[], None]) -> None:
    """Run ``action()``, turning vidgate's errors into a message on stderr and an exit code."""
    try:
        action()
    except VidgateError as exc:
        raise fail(exc) from exc
    except Failed as exc:
        raise typer.Exit(code=exc.code) from exc


def json_option() -> Any:
    return typer.Option(False, "--json", help="Print JSON (the API's shape) instead of text.")


def print_json(data: Any) -> None:
    """JSON for programs: plain text on stdout, no colour, no wrapping."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 segment``, ``3 segments``."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


@dataclass(frozen=True)
class Column:
    """A table column. ``keep``: never shortened (ids, model names); ``drop``: the order in which
    columns go when the terminal is narrow (1 first); 0 never goes."""

    header: str
    keep: bool = False
    drop: int = 0


def _needed(column: Column, cells: Sequence[str]) -> int:
    longest = max((len(c) for c in (column.header, *cells)), default=0)
    if column.keep:
        return longest
    # Wrapping columns may shrink to a few characters, or to their longest word.
    words = max((len(w) for c in (column.header, *cells) for w in c.split()), default=0)
    return min(longest, max(_MIN_WRAP_WIDTH, min(words, 20)))


def print_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """A table on stdout that fits the terminal without shortening a ``keep`` column."""
    shown = list(range(len(columns)))

    def width(indexes: list[int]) -> int:
        # Rich's box: one bar per column plus one, and one space of padding on each side.
        cells = [_needed(columns[i], [r[i] for r in rows]) for i in indexes]
        return sum(cells) + 3 * len(indexes) + 1

    dropped: list[str] = []
    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    while width(shown) > out.width and droppable:
        _, index = droppable.pop(0)
        shown.remove(index)
        dropped.append(columns[index].header)
    table = Table(title=title)
    for i in shown:
        column = columns[i]
        if column.keep:
            longest = max((len(c) for c in (column.header, *(r[i] for r in rows))), default=0)
            table.add_column(column.header, no_wrap=True, min_width=longest)
        else:
            table.add_column(column.header, overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    out.print(table)
    if dropped:
        err.print(
            f"[dim]narrow terminal: left out {', '.join(dropped)} (widen it, or use --json)[/dim]"
        )
