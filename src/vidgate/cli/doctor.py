"""``vidgate doctor``: every check of :mod:`vidgate.doctor`, as a table or JSON; exit 1 when one
blocks serving."""

from __future__ import annotations

import asyncio

import typer

from vidgate.cli.output import json_option, out, print_json, run

__all__ = ["doctor_command"]

_MARKS = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def doctor_command(as_json: bool = json_option()) -> None:
    """Check what serving needs: the Runway key, database, storage, codecs, C2PA, disk, clock."""
    from vidgate.doctor import blocks_serving, run_checks
    from vidgate.settings import load_settings

    def action() -> None:
        checks = asyncio.run(run_checks(load_settings()))
        blocked = blocks_serving(checks)
        if as_json:
            print_json({"ok": not blocked, "checks": [check.as_dict() for check in checks]})
        else:
            for check in checks:
                out.print(f"{_MARKS[check.status.value]:>17} {check.name:<11} {check.detail}")
                if check.fix:
                    out.print(f"{'':>5} {'':<11} [bold]fix:[/] {check.fix}")
            out.print("[red]fix the FAIL lines first[/]" if blocked else "nothing blocks serving")
        if blocked:
            raise typer.Exit(code=1)

    run(action)
