"""``vidgate emulator``: its options are generated from :class:`EmulatorConfig`'s fields.

Each knob becomes ``--kebab-case`` with a ``VIDGATE_EMULATOR_*`` variable and the field's own
description (and default) as its help, so a knob added to the config is a flag at once. Maps
(``concurrency``, ``daily_limit``, ``host_map``) are repeatable ``KEY=VALUE`` options.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from pydantic.fields import FieldInfo

from vidgate.cli.output import fail, out
from vidgate.emulator.config import EmulatorConfig
from vidgate.errors import VidgateError

__all__ = ["emulator_command"]

_ENV = "VIDGATE_EMULATOR_"
# Flags named apart from their field, kept so existing scripts keep working.
_FLAG_NAMES = {"allow_legacy": "legacy"}
_MAP_HELP = {
    "concurrency": "MODEL=N (or MODEL=none), repeatable: ",
    "daily_limit": "MODEL=N (or MODEL=none), repeatable: ",
    "host_map": "HOST=BASE_URL, repeatable. ",
}


def _default_text(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if isinstance(default, bool):
        return f" (default: {str(default).lower()})"
    if isinstance(default, float):
        return f" (default: {default:g})"
    if isinstance(default, int | str):
        return f" (default: {default})"
    return ""


def _scalar_type(annotation: Any) -> type:
    """``float | None`` -> float; the type a flag parses."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0]
    return annotation if isinstance(annotation, type) else str


def _option(name: str, info: FieldInfo) -> inspect.Parameter:
    flag = _FLAG_NAMES.get(name, name).replace("_", "-")
    env = _ENV + _FLAG_NAMES.get(name, name).upper()
    help_text = (info.description or name) + _default_text(info)
    kind = _scalar_type(info.annotation)
    option: Any
    annotation: Any
    if typing.get_origin(info.annotation) is dict or kind is dict:
        option = typer.Option([], f"--{flag}", envvar=env, help=_MAP_HELP.get(name, "") + help_text)
        annotation = list[str]
    elif kind is bool:
        option = typer.Option(None, f"--{flag}/--no-{flag}", envvar=env, help=help_text)
        annotation = bool | None
    else:
        option = typer.Option(None, f"--{flag}", envvar=env, help=help_text)
        annotation = (Path if kind is Path else kind) | None
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
    )


def _pairs(option: str, items: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        pairs[key.strip()] = value.strip()
    return pairs


def _limits(option: str, items: list[str]) -> dict[str, int | None]:
    limits: dict[str, int | None] = {}
    for model, value in _pairs(option, items).items():
        if value.lower() in ("none", "null", "unlimited"):
            limits[model] = None
        elif value.isdigit():
            limits[model] = int(value)
        else:
            raise typer.BadParameter(f"{model}: expected a number or 'none'", param_hint=option)
    return limits


def _knobs(given: dict[str, Any]) -> dict[str, object]:
    knobs: dict[str, object] = {}
    for name, value in given.items():
        if value is None or value == []:
            continue
        flag = "--" + _FLAG_NAMES.get(name, name).replace("_", "-")
        if name == "host_map":
            knobs[name] = _pairs(flag, value)
        elif isinstance(value, list):
            knobs[name] = _limits(flag, value)
        else:
            knobs[name] = value
    return knobs


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(n.strip().lower() for n in (value or "").split(",") if n.strip())


def _run(
    host: str,
    port: int,
    control_token: str | None,
    allowed_hosts: str | None,
    allowed_origins: str | None,
    **given: Any,
) -> None:
    """Run the Runway API emulator: point an official SDK's base URL at it."""
    from vidgate.emulator.server import EmulatorServer
    from vidgate.settings import load_settings
    from vidgate.storage.private import keep_private

    keep_private()  # its state file and outputs are this user's alone
    knobs = _knobs(given)
    try:
        knobs.setdefault("task_seconds", load_settings().emulator_task_seconds)
        config = EmulatorConfig.from_knobs(knobs)
        server = EmulatorServer(
            config,
            host=host,
            port=port,
            log_level="warning",
            control_token=control_token,
            allowed_hosts=_names(allowed_hosts),
            allowed_origins=tuple(o.rstrip("/") for o in _names(allowed_origins)),
        ).start()
    except VidgateError as exc:
        raise fail(exc) from exc
    out.print(
        f"Runway API emulator on [bold]{server.base_url}[/bold] "
        f"(RUNWAYML_BASE_URL={server.base_url}; control: {server.base_url}/_emulator/config)"
    )
    out.print(f"control token: {server.control_token} (send it as X-Emulator-Token)")
    out.file.flush()
    server.wait()


def _command() -> Callable[..., None]:
    def emulator_command(**kwargs: Any) -> None:
        _run(**kwargs)

    params = [
        inspect.Parameter(
            "host",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option("127.0.0.1", envvar=_ENV + "HOST", help="Address to bind."),
            annotation=str,
        ),
        inspect.Parameter(
            "port",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(8787, envvar=_ENV + "PORT", help="Port to listen on (0: any)."),
            annotation=int,
        ),
        inspect.Parameter(
            "control_token",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                envvar=_ENV + "CONTROL_TOKEN",
                help="Token the control endpoint (/_emulator/...) requires in X-Emulator-Token; "
                "default: a random one, printed at start.",
            ),
            annotation=str | None,
        ),
        inspect.Parameter(
            "allowed_hosts",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                envvar=_ENV + "ALLOWED_HOSTS",
                help="Host names it answers to besides loopback ones, --host and the address a "
                "connection arrived on (comma separated; *.example.com, or *); others: 421.",
            ),
            annotation=str | None,
        ),
        inspect.Parameter(
            "allowed_origins",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                envvar=_ENV + "ALLOWED_ORIGINS",
                help="Browser origins (https://app.example.com, comma separated) that may make "
                "tasks besides its own; others: 403.",
            ),
            annotation=str | None,
        ),
    ]
    params += [_option(name, info) for name, info in EmulatorConfig.model_fields.items()]
    emulator_command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    emulator_command.__annotations__ = {p.name: p.annotation for p in params}
    emulator_command.__doc__ = _run.__doc__
    return emulator_command


emulator_command = _command()
