"""The house keeps its shape: few plain modules, short modules, honest ``__all__``, light faces.

The import rules themselves (layers, no cycles) are import-linter's contracts in pyproject.toml,
run by ``make lint``; the README's layout block is checked in test_docs.py.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "vidgate"
# What a plain module directly in src/vidgate may be: a few shared by everything.
MAX_PLAIN_MODULES = 8
MAX_MODULE_LINES = 400
# Modules known to be over the limit, each to be split next (none now).
OVER_THE_LIMIT: set[str] = set()


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "versions" in relative.parts or relative.name == "env":  # Alembic's own scripts
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        names.append(".".join(parts))
    return names


def test_few_plain_modules_at_the_top() -> None:
    plain = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert len(plain) <= MAX_PLAIN_MODULES, sorted(plain)


def test_no_module_is_over_the_line_limit() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*")
        if p.suffix in {".py", ".js"} and (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert set(long) == OVER_THE_LIMIT, long


def _registered_handlers(module: object) -> list[object]:
    """Route handlers and CLI commands: reached through their router or app, never imported."""
    import typer
    from fastapi import APIRouter

    handlers: list[object] = []
    for value in vars(module).values():
        if isinstance(value, APIRouter):
            handlers += [getattr(route, "endpoint", None) for route in value.routes]
        elif isinstance(value, typer.Typer):
            handlers += [command.callback for command in value.registered_commands]
            for group in value.registered_groups:
                if group.typer_instance is not None:
                    handlers += [c.callback for c in group.typer_instance.registered_commands]
    return handlers


@pytest.mark.parametrize("name", _modules())
def test_all_lists_every_public_name_and_only_real_ones(name: str) -> None:
    module = importlib.import_module(name)
    if not hasattr(module, "__all__"):
        assert module.__file__ is not None and module.__file__.endswith("__init__.py"), (
            f"{name} has no __all__"
        )
        return
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), f"{name}.__all__ lists a name twice"
    missing = {n for n in exported if not hasattr(module, n)}
    assert not missing, f"{name}.__all__ lists names it does not have: {sorted(missing)}"
    registered = _registered_handlers(module)
    defined_here = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
        and value not in registered
    }
    unlisted = defined_here - exported
    assert not unlisted, f"{name} defines public names missing from __all__: {sorted(unlisted)}"


def test_importing_the_client_loads_no_server_parts() -> None:
    heavy = ["fastapi", "starlette", "sqlalchemy", "av", "procrastinate", "obstore", "uvicorn"]
    code = f"import sys, vidgate.client\nprint(' '.join(m for m in {heavy!r} if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == []
