"""The web page at ``/`` and the API docs at ``/docs``, both served from files in the package.

No build step and nothing from a CDN: the page (``vidgate/api/web``: HTML, CSS and ES modules)
talks to the same ``/v1`` API as any client, with the same API key rules (it asks for a key when
the server wants one). ``/docs`` is Swagger UI from the files the ``fastapi-offline`` package
ships, so it works without internet. Everything is served with a Content-Security-Policy that
allows only this origin.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

from fastapi import APIRouter, Response

from vidgate.errors import NotFound

__all__ = ["CONTENT_SECURITY_POLICY", "WEB_FILES", "page_file", "router"]

router = APIRouter(include_in_schema=False)

_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_WEB: Final = resources.files("vidgate.api").joinpath("web")

#: The page's files (name -> content type); nothing else is served from the package.
WEB_FILES: Final = {
    entry.name: _TYPES[suffix]
    for entry in _WEB.iterdir()
    if (suffix := "." + entry.name.rsplit(".", 1)[-1]) in _TYPES
}

# Swagger UI's files, as the fastapi-offline package ships them.
_SWAGGER_FILES: Final = {
    "swagger-ui-bundle.js": _TYPES[".js"],
    "swagger-ui.css": _TYPES[".css"],
    "favicon.png": _TYPES[".png"],
}

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' blob: data:; media-src 'self' blob:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# Swagger UI sets inline styles and shows data: images; still nothing from elsewhere.
_DOCS_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def _serve(
    source: Traversable, content_type: str, policy: str = CONTENT_SECURITY_POLICY
) -> Response:
    return Response(
        source.read_bytes(),
        media_type=content_type,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def page_file(name: str) -> Response:
    """One of the page's files (``index.html``, ``console.html``, a module), with its policy."""
    content_type = WEB_FILES.get(name)
    if content_type is None:
        raise NotFound(f"no file {name} in the web page")
    return _serve(_WEB.joinpath(name), content_type)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> Response:
    """The page to generate and watch videos."""
    return page_file("index.html")


@router.api_route("/web/{name}", methods=["GET", "HEAD"])
async def web_file(name: str) -> Response:
    """The page's modules and style sheet."""
    return page_file(name)


@router.api_route("/docs", methods=["GET", "HEAD"])
async def docs() -> Response:
    """Swagger UI on /openapi.json, from bundled files."""
    return _serve(_WEB.joinpath("docs.html"), _TYPES[".html"], _DOCS_POLICY)


@router.api_route("/docs/assets/{name}", methods=["GET", "HEAD"])
async def docs_asset(name: str) -> Response:
    """Swagger UI's script, style sheet and icon."""
    content_type = _SWAGGER_FILES.get(name)
    if content_type is None:
        raise NotFound(f"no file {name} in the API docs")
    source = resources.files("fastapi_offline").joinpath("static", name)
    return _serve(source, content_type, _DOCS_POLICY)
