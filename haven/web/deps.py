"""Dependencies shared by the routes (``Annotated`` aliases, as in FastAPI's own template).

Every staff route depends on exactly one staff dependency: one per
:class:`~haven.site.roles.Permission` of the site's role matrix it needs
(:data:`NewCardStaff`, :data:`VisitStaff`, :data:`HistoryStaff`,
:data:`CertificateStaff`, :data:`ReportStaff`, :data:`ImportStaff`, and the coordinator pages'
:data:`StaffManager`, :data:`TrustManager`, :data:`AuditViewer`), or :data:`AnyStaff`. Each
refuses a signed-out request (401; also a session from before the site locked),
a staff member none of whose roles grants the permission (403) and, for
POST/PUT/PATCH/DELETE, a request without the session's CSRF token (403).
Public state changes (sign-in, language) depend on :func:`csrf_protect`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader

from haven.errors import AuthError, CsrfError, NoOpenCardError
from haven.site.roles import Permission
from haven.site.roles import require as require_role
from haven.site.staff import StaffMember
from haven.web.middleware import SESSION_COOKIE
from haven.web.sessions import BrowserSession, OpenCard
from haven.web.site import SignedIn
from haven.web.state import AppState

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

# Declared for the OpenAPI description (security schemes); checks are done below.
session_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Server-side session id.")
csrf_scheme = APIKeyHeader(
    name=CSRF_HEADER,
    auto_error=False,
    description="The session's CSRF token (GET /api/session), required on every POST, PUT, PATCH and DELETE.",
)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.haven
    return state


State = Annotated[AppState, Depends(app_state)]


def current_session(request: Request) -> BrowserSession | None:
    session: BrowserSession | None = request.scope.setdefault("state", {}).get("session")
    return session


def ensure_session(request: Request) -> BrowserSession:
    """The request's session, creating an anonymous one (and its cookie) if there is none."""
    session = current_session(request)
    if session is None:
        session = app_state(request).sessions.create()
        set_session(request, session)
    return session


def set_session(request: Request, session: BrowserSession | None) -> None:
    """Make ``session`` the request's session and write (or clear) the cookie with the response."""
    state = request.scope.setdefault("state", {})
    state["session"] = session
    state["session_cookie"] = "set" if session is not None else "clear"


async def _check_csrf(request: Request, session: BrowserSession | None) -> None:
    if request.method not in UNSAFE:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    if session is None or not session.check_csrf(token):
        raise CsrfError()


async def csrf_protect(
    request: Request,
    _session: Annotated[str | None, Depends(session_scheme)],
    _csrf: Annotated[str | None, Depends(csrf_scheme)],
) -> None:
    """Refuse a state change without the session's CSRF token (public routes: sign-in, language)."""
    await _check_csrf(request, current_session(request))


csrf_protect.checks_csrf = True  # type: ignore[attr-defined]


def require(permission: Permission | None) -> Callable[..., Awaitable[StaffMember]]:
    """A dependency: the signed-in staff member, if one of their roles grants ``permission`` (None: any)."""

    async def dependency(
        request: Request,
        _session: Annotated[str | None, Depends(session_scheme)],
        _csrf: Annotated[str | None, Depends(csrf_scheme)],
    ) -> StaffMember:
        session = current_session(request)
        staff = signed_in_staff(request, touch=True)
        if session is None or staff is None:
            raise AuthError()
        if permission is not None:
            require_role(staff.roles, permission)
        await _check_csrf(request, session)
        request.scope["state"]["staff_generation"] = session.generation  # see handlers.ended_meanwhile
        return staff

    dependency.checks_csrf = True  # type: ignore[attr-defined]
    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{permission.value if permission else 'staff'}".replace(".", "_")
    return dependency


AnyStaff = Annotated[StaffMember, Depends(require(None))]
NewCardStaff = Annotated[StaffMember, Depends(require(Permission.CARD_NEW))]
VisitStaff = Annotated[StaffMember, Depends(require(Permission.VISIT_ADD))]
HistoryStaff = Annotated[StaffMember, Depends(require(Permission.HISTORY_VIEW))]
CorrectStaff = Annotated[StaffMember, Depends(require(Permission.VISIT_CORRECT))]
CertificateStaff = Annotated[StaffMember, Depends(require(Permission.CERTIFICATE_ISSUE))]
ReportStaff = Annotated[StaffMember, Depends(require(Permission.REPORT_VIEW))]
ImportStaff = Annotated[StaffMember, Depends(require(Permission.CERTIFICATE_IMPORT))]
LotViewStaff = Annotated[StaffMember, Depends(require(Permission.LOT_VIEW))]
LotStaff = Annotated[StaffMember, Depends(require(Permission.LOT_MANAGE))]
StaffManager = Annotated[StaffMember, Depends(require(Permission.STAFF_MANAGE))]
TrustManager = Annotated[StaffMember, Depends(require(Permission.TRUST_MANAGE))]
AuditViewer = Annotated[StaffMember, Depends(require(Permission.AUDIT_VIEW))]


def signed_in_staff(request: Request, touch: bool = False) -> StaffMember | None:
    """The request's staff member if their session still stands, else None (and it is signed out).

    It ends when the server locked, a duress sign-in or a panic came since, or their key slot
    changed (removed, or passphrase reset, from here or from a terminal). ``touch``: a staff
    request, which keeps the server from auto-locking.
    """
    session = current_session(request)
    if session is None or session.staff is None:
        return None
    state = app_state(request)
    if state.site.check(session.generation, session.slot, touch):
        return session.staff
    sign_out_session(state, session, drop=False)
    return None


def start_staff_session(request: Request, state: AppState, signed: SignedIn) -> BrowserSession:
    """After a sign-in: a fresh session id (no fixation) holding who signed in."""
    fresh = state.sessions.rotate(ensure_session(request))
    fresh.staff, fresh.generation, fresh.slot = signed.staff, signed.generation, signed.slot
    set_session(request, fresh)
    return fresh


def open_card(request: Request) -> OpenCard:
    session = current_session(request)
    if session is None or session.staff is None:
        raise AuthError()
    card = app_state(request).sessions.card(session)
    if card is None:
        raise NoOpenCardError()
    return card


TheOpenCard = Annotated[OpenCard, Depends(open_card)]


def sign_out_session(state: AppState, session: BrowserSession, drop: bool = True) -> None:
    """End ``session`` (or, without ``drop``, only sign it out); when no one is signed in any more,
    the server locks (forgets the key)."""
    if drop:
        state.sessions.drop(session)
    else:
        state.sessions.sign_out(session)
    if not state.sessions.any_signed_in() and not state.site.locked:
        state.site.lock()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def staff_session(request: Request) -> BrowserSession:
    """The session of a request that a staff dependency already let through."""
    session = current_session(request)
    assert session is not None
    return session


def checks_csrf(call: Any) -> bool:
    return bool(getattr(call, "checks_csrf", False))
