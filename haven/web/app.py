"""``create_app(settings, site)``: the whole web app, assembled explicitly.

Routes, middleware, the one error handler and the lifespan are all wired here
and nowhere else; nothing is created at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from haven.web import handlers
from haven.web.deps import UNSAFE, checks_csrf
from haven.web.hosts import HostRule, TrustedHosts
from haven.web.middleware import SecurityHeaders, SessionCookie
from haven.web.ratelimit import RateLimiter
from haven.web.render import environment, static_version
from haven.web.routes import (
    account,
    admin_pages,
    api,
    cert_import,
    corrections,
    day_pages,
    history_export,
    lots,
    reports,
    staff_pages,
    verifier,
)
from haven.web.sessions import BrowserSessions
from haven.web.settings import WebSettings
from haven.web.site import WebSite
from haven.web.state import AppState

DESCRIPTION = """Haven's web API: what the clinic pages and the offline verifier use.

Operations tagged `public` need no sign-in. Staff operations need the session cookie
(`haven_session`, from `POST /api/session`, which signs in through the site's key slots) and, on
every POST, PUT, PATCH and DELETE, the session's CSRF token in `X-CSRF-Token` (from
`GET /api/session`). Each staff operation needs one permission of the site's role matrix. A card is
opened in the session (`POST /api/cards/open`) and never appears in a URL. Errors are
`{"error": {"code", "message", "details"}}` with the status of the error class (docs/errors.md).
"""

SWEEP_EVERY_S = 60


class StaticAssets(StaticFiles):
    """Haven's own assets (no CDN): cached for a day; URLs carry the assets' hash."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def create_app(settings: WebSettings, site: WebSite) -> FastAPI:
    site.auto_lock_s = settings.auto_lock_s
    sessions = BrowserSessions(
        idle_s=settings.session_idle_s,
        card_idle_s=settings.card_idle_s,
        max_sessions=settings.max_sessions,
        clock=site.clock,
    )
    state = AppState(
        settings=settings,
        site=site,
        sessions=sessions,
        limiter=RateLimiter(site.clock),
        templates=environment(),
        static_version=static_version(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(SWEEP_EVERY_S)
                sessions.sweep()
                site.auto_lock()

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Every open card and session ends with the server, which forgets the master key.
            sessions.clear()
            site.lock()

    app = FastAPI(
        title="Haven",
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from CDNs: not served
        redoc_url=None,
        lifespan=lifespan,
        # Bodies beyond the largest photo (plus the form around it) are refused with 413 while streaming.
        max_body_size=settings.upload_max_bytes + 64 * 1024,
        openapi_tags=[
            {"name": "public", "description": "Anyone may call these; no sign-in."},
            {"name": "staff", "description": "Signed-in staff; session cookie and X-CSRF-Token."},
        ],
    )
    app.state.haven = state
    app.include_router(api.router)
    app.include_router(staff_pages.router)
    app.include_router(lots.router)
    app.include_router(corrections.router)
    app.include_router(day_pages.router)
    app.include_router(reports.router)
    app.include_router(history_export.router)
    app.include_router(cert_import.router)
    app.include_router(admin_pages.router)
    app.include_router(account.router)
    app.include_router(verifier.router)
    verifier.keep_foreign_trust(app, site)
    static = StaticAssets(directory=str(resources.files("haven.web").joinpath("static")))
    app.router.routes.append(Mount("/static", app=GZipMiddleware(static, minimum_size=500), name="static"))
    handlers.install(app)

    def secure(scope: Scope) -> bool:
        if settings.secure_cookies is not None:
            return settings.secure_cookies
        return scope.get("scheme") == "https"

    app.add_middleware(SessionCookie, sessions=sessions, secure=secure)
    app.add_middleware(TrustedHosts, rule=HostRule.of(settings))
    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxies:  # outermost: the limits and the cookie's Secure see the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    _check_every_state_change_is_protected(app)
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of the app, including those of included routers."""
    out: list[APIRoute] = []
    stack: list[Any] = list(reversed(app.router.routes))
    while stack:
        route = stack.pop()
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps them nested)
            stack.extend(reversed(route.original_router.routes))
    return out


def _check_every_state_change_is_protected(app: FastAPI) -> None:
    """Refuse to build an app with a POST/PUT/PATCH/DELETE route that skips the CSRF check."""
    routes = api_routes(app)
    if not routes:
        raise RuntimeError("no API routes found: the CSRF check cannot see the routes")
    for route in routes:
        if not (set(route.methods or ()) & UNSAFE):
            continue
        stack = list(route.dependant.dependencies)
        found = False
        while stack:
            dep = stack.pop()
            if checks_csrf(dep.call):
                found = True
                break
            stack.extend(dep.dependencies)
        if not found:
            raise RuntimeError(f"{sorted(route.methods or ())} {route.path} has no CSRF check")


def _version() -> str:
    from importlib.metadata import version

    return version("haven")
