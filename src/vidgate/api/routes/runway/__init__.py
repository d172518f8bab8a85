"""The Runway-compatible surface at ``/runway`` (docs/dropin.md): Runway's public API, answered by
vidgate, so ``RUNWAYML_BASE_URL=http://HOST:PORT/runway`` makes the official SDKs work unchanged.

``access`` (auth, version header, body), ``errors`` (Runway's error shape), ``tasks`` (creates and
tasks), ``uploads`` (the two-step upload), ``organization`` (credits and usage).
"""

from fastapi import APIRouter

from vidgate.api.routes.runway.organization import router as _organization
from vidgate.api.routes.runway.tasks import router as _tasks
from vidgate.api.routes.runway.uploads import router as _uploads

__all__ = ["router"]

router = APIRouter()
for _part in (_tasks, _uploads, _organization):
    router.include_router(_part)
