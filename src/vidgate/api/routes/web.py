"""The web page at ``/``: plain HTML, CSS and JS shipped in the package (``vidgate/api/web``).

No build step and nothing from a CDN: the page talks to the same ``/v1`` API as any client, with
the same API key rules (it asks for a key when the server wants one). The files are served with
a Content-Security-Policy that allows only this origin.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from fastapi import APIRouter, Response

from vidgate.errors import NotFound

__all__ = ["CONTENT_SECURITY_POLICY", "WEB_FILES", "router"]

router = APIRouter(include_in_schema=False)

#: The page's files and their content types; nothing else is served from the package.
WEB_FILES: Final = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' blob: data:; media-src 'self' blob:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _file(name: str) -> Response:
    content_type = WEB_FILES.get(name)
    if content_type is None:
        raise NotFound(f"no file {name} in the web page")
    body = resources.files("vidgate.api").joinpath("web", name).read_bytes()
    return Response(
        body,
        media_type=content_type,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> Response:
    """The page to generate and watch videos."""
    return _file("index.html")


@router.api_route("/web/{name}", methods=["GET", "HEAD"])
async def web_file(name: str) -> Response:
    """The page's script and style sheet."""
    return _file(name)
