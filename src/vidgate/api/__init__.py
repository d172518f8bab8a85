"""The HTTP API: FastAPI app, routes, auth, and the one error renderer."""

from vidgate.api.app import RuntimeFactory, create_app

__all__ = ["RuntimeFactory", "create_app"]
