"""Request bodies read at the edge, before any route: capped, bounded in time, checked as JSON.

Every body but an upload's (which streams itself to disk) is read here, counted as it arrives
(more than ``VIDGATE_JSON_BODY_MAX_BYTES``: 413 at once, by ``Content-Length`` when declared) and
handed on whole. A JSON body is then checked for what Python's parser lets through and the rest
of the app cannot take:

* bytes that are not strict UTF-8 (``json.loads`` on bytes guesses UTF-16/32 and passes encoded
  surrogates);
* nesting deeper than :data:`MAX_DEPTH` (each level costs recursive validators a stack frame;
  a few hundred levels were a ``RecursionError``);
* text the text rule refuses (:mod:`vidgate.media.text`) in any string or key: a lone surrogate
  (``"\\ud800"``), which cannot be encoded again, or a control character other than tab, line
  feed and carriage return (``"\\u0000"``, which PostgreSQL cannot store);
* ``NaN`` and ``Infinity``, which JSON does not have.

Each is a 422 naming the field path. Every body but a multipart form is checked, whatever its
declared type (the Runway and OpenAI surfaces parse any body as JSON); one that is not JSON at all
is left to the route (FastAPI's own 422 for malformed JSON). The fields of a form that a surface
reads as JSON (OpenAI's create) go through the same rules, field by field (:func:`parse_json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from vidgate.errors import FieldProblem
from vidgate.media.text import printable, text_problem

__all__ = ["MAX_DEPTH", "json_problems", "parse_json"]

#: Deepest nesting accepted; the deepest legal request (a chain's references) uses 3 levels.
MAX_DEPTH = 32
_MAX_PROBLEMS = 20


def _shown(key: str) -> str:
    """A key as a path segment that can be sent back (refused characters written as escapes)."""
    return printable(key)[:100]


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_shown(key)}" if path else _shown(key)


def _walk(value: Any, path: str) -> Iterator[FieldProblem]:
    """Every problem of a parsed value, without recursion (the depth is what is being checked)."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                yield FieldProblem(path, problem)
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                yield FieldProblem(path, "must be a finite number")
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                yield FieldProblem(path, f"nests deeper than {MAX_DEPTH} levels")
                continue
            if isinstance(item, dict):
                for key, sub in item.items():
                    child = _child(path, key)
                    problem = text_problem(key)
                    if problem is not None:
                        yield FieldProblem(child, f"the key {problem}")
                    stack.append((sub, child, depth + 1))
            else:
                stack.extend((sub, _child(path, i), depth + 1) for i, sub in enumerate(item))


def json_problems(body: bytes) -> list[FieldProblem]:
    """What is wrong with a JSON body beyond its syntax (which FastAPI reports); [] if nothing."""
    try:
        # Strict decoding first (the text is dropped once parsed).
        _, problems = parse_json(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return [FieldProblem("", f"the body is not UTF-8 text (byte {exc.start})")]
    except ValueError:
        return []
    return problems


def parse_json(text: str, path: str = "") -> tuple[Any, list[FieldProblem]]:
    """``text`` parsed as JSON, with every problem of the value under ``path`` ([]: none).

    Raises ValueError when ``text`` is not JSON at all.
    """
    try:
        # The C scanner guards its own recursion: too deep a text raises, never crashes.
        value = json.loads(text)
    except RecursionError:
        where = "" if path else "the body "
        return None, [FieldProblem(path, f"{where}nests deeper than {MAX_DEPTH} levels")]
    problems: list[FieldProblem] = []
    for problem in _walk(value, path):
        problems.append(problem)
        if len(problems) >= _MAX_PROBLEMS:
            break
    problems.sort(key=lambda p: p.path)
    return value, problems
