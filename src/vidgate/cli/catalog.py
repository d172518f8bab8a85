"""``vidgate models``, ``estimate`` and ``recommend``: the catalog, read in this process.

``estimate`` and ``recommend`` build the body ``generate`` would send (the same defaults, a chain
beyond the model's longest) and check and price it as the server does
(:func:`vidgate.requests.pricing.price_request`): a request ``generate`` refuses is refused here
too, with the same words.
"""

from __future__ import annotations

from typing import Any

import typer

from vidgate.catalog import CostEstimate, Endpoint, Model, Priority, UseCase, get_catalog
from vidgate.cli.defaults import duration_option, fill_defaults
from vidgate.cli.output import Column, json_option, out, print_json, print_table, run

__all__ = [
    "estimate_command",
    "models_command",
    "price_as_generate",
    "recommend_command",
]


def _cost_text(model: Model) -> str:
    cps = model.credits_per_second
    if cps is None:
        return "unknown"
    if isinstance(cps, int | float):
        return f"{cps:g}"
    return "-".join(f"{c:g}" for c in cps)


def _model_json(model: Model) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _list_models(legacy: bool, as_json: bool) -> None:
    models = get_catalog().models(include_legacy=legacy)
    if as_json:
        print_json([_model_json(m) for m in models])
        return
    columns = [
        Column("model", keep=True),
        Column("endpoints", drop=2),
        Column("credits/s"),
        Column("speed", drop=3),
        Column("best for", drop=1),
    ]
    rows = [
        [
            f"{m.id} (legacy)" if m.legacy else m.id,
            ", ".join(e.value for e in m.endpoints),
            _cost_text(m),
            m.speed,
            m.best_for,
        ]
        for m in models
    ]
    print_table("Video models", columns, rows)


def _show_model(model_id: str, as_json: bool) -> None:
    catalog = get_catalog()
    found = catalog.model(model_id)
    if as_json:
        print_json(_model_json(found))
        return
    out.print(f"[bold]{found.id}[/bold] — {found.label} ({found.provider})")
    out.print(f"best for: {found.best_for}; speed: {found.speed}")
    out.print(f"cost: {catalog.estimate_cost(found.id, duration=1).describe()} per second")
    if found.legacy:
        out.print(f"[yellow]legacy:[/yellow] {found.legacy_note}")
    for endpoint, spec in found.endpoints.items():
        columns = [
            Column("field", keep=True),
            Column("required"),
            Column("type"),
            Column("allowed"),
        ]
        rows = [
            [name, "yes" if field.required else "", field.type, field.describe()]
            for name, field in spec.fields.items()
        ]
        print_table(f"{found.id} on /v1/{endpoint.value}", columns, rows)
        if spec.rules:
            out.print(f"rules: {', '.join(spec.rules)}")
        for old_name, wanted in spec.renamed.items():
            instead = f"send {wanted}" if wanted else "no such field"
            out.print(f"not accepted: {old_name} ({instead})")


def models_command(
    model: str | None = typer.Argument(None, help="A model id to show in detail."),
    legacy: bool = typer.Option(True, help="Include legacy models the SDK has dropped."),
    as_json: bool = json_option(),
) -> None:
    """List the video models (a table), or show one model's fields and limits."""
    run(lambda: _list_models(legacy, as_json) if model is None else _show_model(model, as_json))


def price_as_generate(
    model_id: str,
    *,
    endpoint: Endpoint | None = None,
    duration: float | None = None,
    ratio: str | None = None,
) -> CostEstimate:
    """The price of the request ``generate`` would send; ValidationFailed as the server says it."""
    from vidgate.requests.pricing import price_request

    catalog = get_catalog()
    model = catalog.model(model_id)
    if endpoint is None:  # generate's choice without inputs; else what the model offers first
        endpoint = (
            Endpoint.TEXT_TO_VIDEO
            if Endpoint.TEXT_TO_VIDEO in model.endpoints
            else next(iter(model.endpoints))
        )
    spec = model.endpoints.get(endpoint)
    body: dict[str, Any] = {"model": model.id}
    if spec is not None:
        fill_defaults(
            body,
            spec.fields,
            ratios=spec.ratios,
            durations=spec.allowed_durations,
            ratio=ratio,
            duration=duration,
        )
    wire_endpoint = str(body.pop("endpoint", endpoint.value))
    # The prompt and the inputs do not change the price: stand-ins take their place.
    return price_request(wire_endpoint, body, catalog=catalog, inputs_optional=True)


def _estimate_json(estimate: CostEstimate) -> dict[str, Any]:
    return {
        "model": estimate.model,
        "durationSeconds": estimate.duration_seconds,
        "low": estimate.low,
        "high": estimate.high,
        "known": estimate.known,
        "description": estimate.describe(),
    }


def estimate_command(
    model: str = typer.Option(..., "--model", "-m", help="Model id, e.g. gen4.5."),
    duration: float | None = duration_option(
        "Seconds of video, whole; default: generate's (5 s or the nearest allowed, where the "
        "model needs one). Beyond the model's longest: a chain, priced by segment."
    ),
    endpoint: Endpoint | None = typer.Option(None, "--endpoint", "-e", help="Generation endpoint."),
    ratio: str | None = typer.Option(None, "--ratio", "-r", help="Output ratio, e.g. 1280:720."),
    as_json: bool = json_option(),
) -> None:
    """Print the credits a generation would cost, checked as `generate` checks it."""

    def action() -> None:
        estimate = price_as_generate(model, endpoint=endpoint, duration=duration, ratio=ratio)
        if as_json:
            print_json(_estimate_json(estimate))
        else:
            out.print(estimate.describe())

    run(action)


def recommend_command(
    use_case: UseCase = typer.Option(UseCase.TEXT, "--use-case", "-u", help="What to make."),
    priority: Priority = typer.Option(Priority.BALANCED, "--priority", "-p", help="What matters."),
    image: bool = typer.Option(False, "--image", help="An input image is at hand."),
    duration: float | None = duration_option("Seconds wanted, whole."),
    legacy: bool = typer.Option(False, help="Consider legacy models (veo3, gen4_aleph)."),
    as_json: bool = json_option(),
) -> None:
    """Recommend a model for a use case and priority, with the reason and the estimate."""

    def action() -> None:
        rec = get_catalog().recommend(
            use_case, priority=priority, has_image=image, duration=duration, include_legacy=legacy
        )
        # Priced as generate would send it: its defaults, a chain when longer than the model.
        estimate = price_as_generate(rec.model, endpoint=rec.endpoint, duration=duration)
        if as_json:
            print_json(
                {
                    "model": rec.model,
                    "endpoint": rec.endpoint.value,
                    "reason": rec.reason,
                    "estimate": _estimate_json(estimate),
                }
            )
            return
        out.print(f"[bold]{rec.model}[/bold] on {rec.endpoint.value}: {rec.reason}")
        seconds = estimate.duration_seconds
        length = f" for {seconds:g} s" if seconds is not None else " (length follows the input)"
        out.print(f"estimate: {estimate.describe()}{length}")

    run(action)
