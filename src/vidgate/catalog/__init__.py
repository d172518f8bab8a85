"""The model catalog: every video model, its fields, limits, cost, and a recommender."""

from vidgate.catalog.catalog import (
    Catalog,
    CostEstimate,
    Endpoint,
    EndpointSpec,
    FieldSpec,
    MediaKindLimits,
    Model,
    Priority,
    Recommendation,
    UseCase,
    get_catalog,
)

__all__ = [
    "Catalog",
    "CostEstimate",
    "Endpoint",
    "EndpointSpec",
    "FieldSpec",
    "MediaKindLimits",
    "Model",
    "Priority",
    "Recommendation",
    "UseCase",
    "get_catalog",
]
