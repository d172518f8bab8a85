"""The docs are complete: every setting, every CLI command, every public name (datasette's
tests/test_docs.py is the model). A new setting or command without docs fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

import vidgate
from vidgate.cli.app import app
from vidgate.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _env_name(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else f"VIDGATE_{name.upper()}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    text = (DOCS / "settings.md").read_text()
    assert f"`{_env_name(name)}`" in text
    assert Settings.model_fields[name].description, f"{name} has no description"


def _commands() -> list[str]:
    group = typer.main.get_group(app)
    return sorted(group.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command: str) -> None:
    headings = re.findall(r"^## (\S+)", (DOCS / "cli.md").read_text(), flags=re.MULTILINE)
    assert command in headings


def _leaf_commands() -> list[tuple[str, Any]]:
    """Every command a user can run, by its full name ("keys create")."""
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):  # a group (Typer's own, not always click's class)
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", typer.main.get_group(app))
    return sorted(found, key=lambda item: item[0])


@pytest.mark.parametrize("command", [name for name, _ in _leaf_commands()])
def test_every_cli_subcommand_is_documented(command: str) -> None:
    assert f"vidgate {command}" in (DOCS / "cli.md").read_text()


def _option_variables() -> list[tuple[str, str]]:
    pairs = set()
    for name, command in _leaf_commands():
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            for variable in [envvar] if isinstance(envvar, str) else envvar or []:
                pairs.add((name, variable))
    return sorted(pairs)


@pytest.mark.parametrize(("command", "variable"), _option_variables())
def test_every_option_variable_is_documented(command: str, variable: str) -> None:
    text = "".join((DOCS / page).read_text() for page in ("cli.md", "settings.md", "emulator.md"))
    assert f"`{variable}`" in text, f"vidgate {command}: {variable} is in no docs page"


def test_the_docs_carry_what_they_rely_on() -> None:
    """The wire format is the project's own page; nothing points at files outside the repository."""
    assert (DOCS / "wire-format.md").is_file()
    root = DOCS.parent
    files = [root / "README.md", *DOCS.glob("*.md"), *(root / "src").rglob("*.py")]
    files += list((root / "src").rglob("*.toml"))
    for path in files:
        assert "shared/runway-api" not in path.read_text(), path


def test_the_readme_layout_matches_the_package() -> None:
    """Every package and plain module of src/vidgate is in the README's layout, and nothing else."""
    readme = (DOCS.parent / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```")[1]
    listed = set(re.findall(r"^  (\w+/|\w+\.py)", block, flags=re.MULTILINE))
    package = Path(vidgate.__file__).parent
    present = {
        f"{p.name}/" if p.is_dir() else p.name
        for p in package.iterdir()
        if not p.name.startswith(("_", ".")) and (p.is_dir() or p.suffix == ".py")
    }
    assert listed == present


def test_readme_names_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme


def _public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(vidgate.__path__, "vidgate."):
        if ".migrations." in info.name or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _public_modules())
def test_all_lists_only_real_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    for name in exported:
        assert hasattr(module, name), f"{module_name}.__all__ names missing {name}"
        assert not name.startswith("_")
