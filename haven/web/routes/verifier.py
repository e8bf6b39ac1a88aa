"""The public verifier: one page, its service worker and its foreign issuers; nothing that needs a session."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from haven.web.deps import app_state
from haven.web.foreign_trust import ForeignTrust
from haven.web.site import WebSite

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


def keep_foreign_trust(app: FastAPI, site: WebSite) -> None:
    """Make and keep the signed foreign issuers this app serves (haven/web/foreign_trust.py)."""
    app.state.foreign_trust = ForeignTrust.watching(site)


@router.get("/verify/foreign-trust")
def foreign_trust(request: Request) -> Response:
    """EU DCC signers and SMART Health Card issuers, signed by an epoch key of the trust list (CBOR)."""
    keeper: ForeignTrust = request.app.state.foreign_trust
    body = keeper.document()
    if body is None:
        message = "This server has no signed list of foreign issuers to give yet."
        return JSONResponse({"error": {"code": "not-found", "message": message}}, status_code=404)
    return Response(body, media_type="application/cbor", headers={"Cache-Control": "no-cache"})
