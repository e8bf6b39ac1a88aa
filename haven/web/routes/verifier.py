"""The public verifier: one page, its service worker, nothing that needs a session."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from haven.web.deps import app_state

router = APIRouter(include_in_schema=False)


@router.get("/verify")
def verify_page(request: Request) -> Response:
    state = app_state(request)
    html = state.templates.get_template("verify.html").render(v=state.static_version)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/verify/sw.js")
def service_worker(request: Request) -> Response:
    """The service worker, served under /verify so it may control the verifier page only."""
    state = app_state(request)
    text = resources.files("haven.web").joinpath("static", "verifier", "sw.js").read_text("utf-8")
    return Response(
        text.replace("__VERSION__", state.static_version),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/verify"},
    )
