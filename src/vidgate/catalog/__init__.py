"""The model catalog: every video model, its fields, limits, cost, and a recommender.

``specs`` holds the typed views of ``models.toml`` (models, endpoints, fields, media limits);
``catalog`` loads them and answers questions across models (cost, recommendation).
"""

from vidgate.catalog.catalog import (
    Catalog,
    CostEstimate,
    Priority,
    Recommendation,
    UseCase,
    get_catalog,
)
from vidgate.catalog.specs import (
    Endpoint,
    EndpointSpec,
    FieldSpec,
    MediaKind,
    MediaKindLimits,
    Model,
)

__all__ = [
    "Catalog",
    "CostEstimate",
    "Endpoint",
    "EndpointSpec",
    "FieldSpec",
    "MediaKind",
    "MediaKindLimits",
    "Model",
    "Priority",
    "Recommendation",
    "UseCase",
    "get_catalog",
]
