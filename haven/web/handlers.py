"""One handler renders every error: JSON under /api, a page elsewhere (datasette's habit).

The web edge gives each :class:`~haven.errors.HavenError` class its HTTP status
(:data:`HTTP_STATUSES`, docs/errors.md) and, on pages, its message in the page's
language (:mod:`haven.web.messages`). Pages that need a sign-in send a
signed-out browser to the sign-in page instead.
Unexpected exceptions are logged (type and place only: never a request body)
and answered with a plain 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from haven import errors as e
from haven.errors import AuthError, HavenError, InputError, LockedOutError, RateLimitError, StoreError, WebError
from haven.web.messages import BAD_FORM, NOT_FOUND, NOT_THIS_WAY, UNEXPECTED, error_message
from haven.web.render import gettext_for, render, request_locale

log = logging.getLogger("haven.web")

HTTP_STATUSES: dict[type[HavenError], int] = {
    e.HavenError: 500,
    e.InputError: 400,
    e.EntryError: 422,
    e.ExpiredLotError: 422,
    e.WeakPassphraseError: 422,
    e.ChecksNeedConfirmationError: 409,
    e.NoRecordsError: 404,
    e.SiteError: 409,
    e.StoreError: 503,
    e.StoreFullError: 507,
    e.StoreCorruptError: 500,
    e.CertificateError: 422,
    e.MalformedCertificate: 400,
    e.TrustError: 409,
    e.AuthError: 401,
    e.LockedOutError: 429,
    e.PermissionDeniedError: 403,
    e.AuditTamperedError: 409,
    e.WebError: 400,
    e.CsrfError: 403,
    e.RateLimitError: 429,
    e.NoOpenCardError: 409,
    e.UnavailableError: 404,
    e.SyncError: 409,
    e.BundleUnreadableError: 400,
    e.BundleInvalidError: 422,
    e.NotAMemberError: 403,
    e.RosterError: 409,
    e.HubError: 502,
}


def http_status(error: HavenError | type[HavenError]) -> int:
    """The HTTP status of ``error`` (an instance or a class): its nearest class's in :data:`HTTP_STATUSES`."""
    return e.by_class(HTTP_STATUSES, error)


def retry_headers(error: HavenError) -> dict[str, str]:
    """``Retry-After`` for a refusal that says how long to wait (a rate limit, a sign-in backoff)."""
    if isinstance(error, RateLimitError):
        return {"Retry-After": str(round(error.retry_after or 60))}
    if isinstance(error, LockedOutError):
        return {"Retry-After": str(round(error.wait_seconds or 60))}
    return {}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/openapi.json"


def error_response(
    request: Request, error: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        return JSONResponse({"error": error}, status_code=status, headers=headers)
    response = render(request, "error.html", status=status, message=error["message"], code=error["code"])
    if headers:
        response.headers.update(headers)
    return response


def ended_meanwhile(request: Request) -> bool:
    """Whether the request's staff session ended while it ran (the site locked, or a duress sign-in
    or a panic switched or erased it): a store error then means only that."""
    from haven.web.deps import app_state

    generation = request.scope.get("state", {}).get("staff_generation")
    if generation is None:
        return False
    site = app_state(request).site
    site.lock_if_erased()  # (from a terminal: nothing here has noticed yet)
    return bool(generation != site.generation)


async def haven_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HavenError)
    if isinstance(exc, StoreError) and ended_meanwhile(request):
        exc = AuthError()
    status = http_status(exc)
    # Not signed in (401, not a refused sign-in): a page sends the person to the sign-in form.
    signed_out = isinstance(exc, AuthError) and status == 401 and exc.details.get("reason") != "credentials"
    if signed_out and not wants_json(request):
        return RedirectResponse("/sign-in", status_code=303)
    doc = exc.to_dict()
    if not wants_json(request):
        doc["message"] = error_message(exc, gettext_for(request_locale(request)))
    return error_response(request, doc, status, retry_headers(exc))


# Refusals by the framework, before any Haven code runs (docs/web.md, "Errors"): every code is documented;
# 400 is a body the framework could not read, Haven's own bad input.
FRAMEWORK_CODES = {400: InputError.code, 404: "not-found", 405: "method-not-allowed", 413: "too-large"}
OTHER_REFUSAL = WebError.code


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = FRAMEWORK_CODES.get(exc.status_code, OTHER_REFUSAL)
    if wants_json(request):
        message = str(exc.detail)
    else:
        _ = gettext_for(request_locale(request))
        message = _(NOT_FOUND) if exc.status_code == 404 else _(NOT_THIS_WAY)
    return error_response(request, {"code": code, "message": message}, exc.status_code, dict(exc.headers or {}))


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "reason": str(e.get("msg", ""))} for e in exc.errors()
    ]
    message = BAD_FORM if wants_json(request) else gettext_for(request_locale(request))(BAD_FORM)
    return error_response(request, {"code": "bad-input", "message": message, "details": {"problems": problems}}, 422)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected %s in %s %s", type(exc).__name__, request.method, request.url.path)
    message = UNEXPECTED
    if not wants_json(request):
        message = gettext_for(request_locale(request))(message)
    return error_response(request, {"code": "error", "message": message}, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HavenError, haven_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
