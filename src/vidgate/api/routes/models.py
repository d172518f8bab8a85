"""``/v1/models``, ``/v1/estimate``, ``/v1/recommend``: the catalog over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.schemas import (
    EndpointOut,
    EstimateIn,
    EstimateOut,
    FieldOut,
    GenerationEndpoint,
    ModelList,
    ModelOut,
    RecommendIn,
    RecommendOut,
)
from vidgate.catalog import CostEstimate, EndpointSpec, FieldSpec, Model
from vidgate.errors import NotFound, ValidationFailed
from vidgate.requests.pricing import price_request

__all__ = ["model_out", "router"]

router = APIRouter(tags=["models"])


def _field_out(spec: FieldSpec) -> FieldOut:
    data: dict[str, Any] = {}
    for name in FieldOut.model_fields:
        value = getattr(spec, name, None)
        if isinstance(value, tuple):
            value = list(value) or None
        data[name] = value
    data["required"] = spec.required
    data["auto"] = spec.auto
    data["deprecated"] = spec.deprecated
    return FieldOut(**data)


def _endpoint_out(spec: EndpointSpec) -> EndpointOut:
    return EndpointOut(
        fields={name: _field_out(f) for name, f in spec.fields.items()},
        ratios=list(spec.ratios),
        durations=list(spec.allowed_durations),
        max_duration=spec.max_duration,
    )


def model_out(model: Model) -> ModelOut:
    cps = model.credits_per_second
    return ModelOut(
        id=model.id,
        label=model.label,
        provider=model.provider,
        best_for=model.best_for,
        speed=model.speed,
        credits_per_second=list(cps) if isinstance(cps, tuple) else cps,
        legacy=model.legacy,
        legacy_note=model.legacy_note,
        endpoints={ep.value: _endpoint_out(spec) for ep, spec in model.endpoints.items()},
    )


def _estimate_out(estimate: CostEstimate) -> EstimateOut:
    return EstimateOut(
        model=estimate.model,
        duration_seconds=estimate.duration_seconds,
        low=estimate.low,
        high=estimate.high,
        known=estimate.known,
        description=estimate.describe(),
    )


@router.get(
    "/v1/models", response_model=ModelList, responses=error_responses(), summary="List the models"
)
async def list_models(
    ctx: ContextDep,
    _caller: CallerDep,
    include_legacy: Annotated[
        bool, Query(alias="includeLegacy", description="Also list models the SDK has dropped.")
    ] = True,
) -> ModelList:
    models = ctx.runtime.catalog.models(include_legacy=include_legacy)
    return ModelList(data=[model_out(m) for m in models])


@router.get(
    "/v1/models/{model_id}",
    response_model=ModelOut,
    responses=error_responses(404),
    summary="One model: fields, limits, cost",
)
async def get_model(model_id: str, ctx: ContextDep, _caller: CallerDep) -> ModelOut:
    return model_out(ctx.runtime.catalog.model(model_id))


@router.post(
    "/v1/estimate",
    response_model=EstimateOut,
    responses=error_responses(413),
    summary="Estimate the credits of a generation",
)
async def estimate(body: EstimateIn, ctx: ContextDep, _caller: CallerDep) -> EstimateOut:
    """`{model, duration?}`: the model's price for that long. With `endpoint` (or any other field
    of a generation): the whole body, checked as `POST /v1/generations` checks it (a 422 names
    each bad field; a missing prompt or input does not count) and priced as the job reserves."""
    catalog = ctx.runtime.catalog
    if body.endpoint is not None or body.model_extra:
        raw: dict[str, Any] = {"model": body.model, **(body.model_extra or {})}
        if body.duration is not None:
            raw["duration"] = int(body.duration) if body.duration.is_integer() else body.duration
        endpoint = (body.endpoint or GenerationEndpoint.TEXT_TO_VIDEO).value
        return _estimate_out(price_request(endpoint, raw, catalog=catalog, inputs_optional=True))
    try:
        result = catalog.estimate_cost(body.model, duration=body.duration)
    except NotFound as exc:
        raise ValidationFailed.single("model", str(exc)) from exc
    return _estimate_out(result)


@router.post(
    "/v1/recommend",
    response_model=RecommendOut,
    responses=error_responses(413),
    summary="Recommend a model for a use case",
)
async def recommend(body: RecommendIn, ctx: ContextDep, _caller: CallerDep) -> RecommendOut:
    rec = ctx.runtime.catalog.recommend(
        body.use_case,
        priority=body.priority,
        has_image=body.has_image,
        duration=body.duration,
        include_legacy=body.include_legacy,
    )
    return RecommendOut(
        model=rec.model,
        endpoint=rec.endpoint,
        reason=rec.reason,
        estimate=_estimate_out(rec.estimate),
    )
