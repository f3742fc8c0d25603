"""The browser pages: the supervisor console and the agent desktop, as static files.

The pages are plain HTML, CSS and ES modules under `router/static/`; they hold no
server-side state and call the public API with the user's own bearer token, so a page
can do nothing its token could not do with curl. The routes here only hand out files
and a content security policy that keeps every script and connection same-origin
(no CDN, works offline).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"

#: Same-origin everything; no inline script, so an injected string cannot run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name / "index.html", media_type="text/html",
                        headers={"Content-Security-Policy": CSP,
                                 "Cache-Control": "no-cache",
                                 "Referrer-Policy": "no-referrer"})


@router.get("/console")
async def console() -> FileResponse:
    return _page("console")


@router.get("/desktop")
async def desktop() -> FileResponse:
    return _page("desktop")


@router.get("/console/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/desktop/")
async def desktop_slash() -> RedirectResponse:
    return RedirectResponse("/desktop")


def install(app: FastAPI) -> None:
    """Page routes plus `/static` (the modules, styles the pages load)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
