"""Coordinator pages: staff accounts, trust status and key rotation, the audit log's check.

Every route depends on one staff dependency for its permission (all three are the coordinator's) and
calls one use case, which checks that permission again and writes its audit entry in its transaction;
the pages only parse, call and render. Changes that would let a stolen open session keep or widen
its hold (adding or removing staff, resetting a passphrase, rotating a signing key) first ask again
for the coordinator's own passphrase (:func:`confirm_passphrase`). A new passphrase is shown once, in
the answer to the form that made it (pages are never cached), and never in a URL or a log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from haven.errors import AuditTamperedError, HavenError, InputError, TrustError, WeakPassphraseError
from haven.site import passphrase as pp
from haven.site.audit import Head
from haven.site.roles import Role
from haven.site.staff import StaffMember, check_name
from haven.web.audit_words import action_name
from haven.web.deps import AuditViewer, StaffManager, State, TrustManager, client_address, staff_session
from haven.web.handlers import http_status
from haven.web.i18n import N_
from haven.web.render import gettext_for, render, request_locale
from haven.web.routes.staff_pages import message, see_other
from haven.web.site import credentials_refused

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

ROLES = [r.name.lower() for r in Role if r.name]
AUDIT_SHOWN = 30
GENERATE, CHOOSE = "generate", "choose"

WRONG_CONFIRMATION = N_("That is not your passphrase. Nothing was changed.")
NOT_CONFIRMED = N_("Tick the box to confirm. Nothing was changed.")
DIFFERENT = N_("The two passphrases are not the same.")
WEAK = N_(
    "This passphrase is too easy to guess (about %(bits)s bits; at least %(needed)s are needed). "
    "Use five or more words picked at random, or let Haven make one."
)
OWN_ACCOUNT = N_("Here you reset other members' passphrases; change your own on “Your account”.")
KEY_STATUS = {"signing": N_("Signing now"), "future": N_("Next"), "retired": N_("Retired"), "revoked": N_("Revoked")}
ADDED = N_("Staff member added.")
REMOVED = N_("Staff member removed: their passphrases no longer open the site.")
ROTATED = N_("New signing key in use. Certificates signed with the old key stay valid until they expire.")


class Refused(Exception):
    """A form refused, with its message in the page's language and the answer's status."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.text, self.status = text, status


def tr(request: Request, msgid: str, **values: Any) -> str:
    return gettext_for(request_locale(request))(msgid, **values)


def refusal(request: Request, exc: HavenError) -> Refused:
    """A use case's refusal in the page's language."""
    if isinstance(exc, WeakPassphraseError):
        bits, needed = exc.details.get("bits"), exc.details.get("needed_bits")
        return Refused(tr(request, WEAK, bits=f"{bits:.0f}", needed=f"{needed:.0f}"), http_status(exc))
    return Refused(message(request, exc), http_status(exc))


async def confirm_passphrase(request: Request, state: State, staff: StaffMember, typed: str) -> None:
    """Check the signed-in coordinator's own passphrase again, as a sign-in does (through the key slots,
    counted against the same limits, a duress passphrase erasing the site as anywhere else)."""
    try:
        signed = await state.sign_in(client_address(request), staff.name, typed)
        if signed.staff.id != staff.id or signed.generation != staff_session(request).generation:
            raise credentials_refused()
    except HavenError as exc:
        if exc.code == "auth" and exc.details.get("reason") == "credentials":
            raise Refused(tr(request, WRONG_CONFIRMATION), 403) from None
        raise refusal(request, exc) from None


async def confirmed(
    request: Request, state: State, staff: StaffMember, typed: str, change: Callable[[], T], ticked: str | None = None
) -> T:
    """Run ``change`` (one use case) once the coordinator's own passphrase checks out (and, where the form
    asks for it, the confirmation box is ``ticked``); any refusal in the page's language."""
    if ticked is not None and ticked != "yes":
        raise Refused(tr(request, NOT_CONFIRMED))
    await confirm_passphrase(request, state, staff, typed)
    try:
        return await run_in_threadpool(change)
    except HavenError as exc:
        raise refusal(request, exc) from None


def new_passphrase(request: Request, how: str, typed: str, again: str) -> tuple[str, bool]:
    """The new passphrase (made here, or as typed twice) and whether it was made here (shown once)."""
    if how == GENERATE:
        return pp.suggest(), True
    if typed != again:
        raise Refused(tr(request, DIFFERENT))
    return typed, False


# ---------------------------------------------------------------- staff


def _staff_page(
    request: Request,
    state: State,
    staff: StaffMember,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    """The staff page; after a refusal, the refused form shows again with what was typed (passphrases aside)."""
    members = state.site.app(staff).staff.list()
    return render(
        request,
        "admin_staff.html",
        status=status,
        members=members,
        others=[m for m in members if m.id != staff.id],
        me=staff,
        roles=ROLES,
        errors=errors or {},
        typed=typed or {},
        flash=staff_session(request).take_flash(),
    )


@router.get("/admin/staff")
def staff_page(request: Request, state: State, staff: StaffManager) -> Response:
    return _staff_page(request, state, staff)


@router.post("/admin/staff/add")
async def add_staff(
    request: Request,
    state: State,
    staff: StaffManager,
    name: Annotated[str, Form(max_length=200)],
    your_passphrase: Annotated[str, Form(max_length=1000)],
    how: Annotated[str, Form(max_length=10)] = GENERATE,
    passphrase: Annotated[str, Form(max_length=1000)] = "",
    passphrase_again: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    submitted = await request.form()
    chosen_roles = [v for v in submitted.getlist("role") if isinstance(v, str)]
    try:
        try:
            clean_name, roles = check_name(name), Role.parse(chosen_roles)
        except InputError as exc:
            raise refusal(request, exc) from None
        secret, made = new_passphrase(request, how, passphrase, passphrase_again)
        app = state.site.app(staff)
        member = await confirmed(
            request, state, staff, your_passphrase, lambda: app.staff.add(clean_name, roles, secret)
        )
    except Refused as refused:
        typed = {"form": "add", "name": name, "roles": chosen_roles, "how": how}
        return _staff_page(request, state, staff, refused.status, {"add": refused.text}, typed)
    if not made:
        staff_session(request).flash = ADDED
        return see_other("/admin/staff")
    return render(request, "admin_passphrase.html", member=member, secret=secret, added=True)


@router.post("/admin/staff/reset")
async def reset_passphrase(
    request: Request,
    state: State,
    staff: StaffManager,
    name: Annotated[str, Form(max_length=200)],
    your_passphrase: Annotated[str, Form(max_length=1000)],
    how: Annotated[str, Form(max_length=10)] = GENERATE,
    passphrase: Annotated[str, Form(max_length=1000)] = "",
    passphrase_again: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Another member's passphrase, as ``haven staff passwd NAME``: their role keys are wrapped anew for
    the new slot, their duress passphrase is dropped, and their open sessions end."""
    try:
        try:
            target = check_name(name)
        except InputError as exc:
            raise refusal(request, exc) from None
        if target == staff.name:  # the web's session holds this member's own slot: a terminal changes it
            raise Refused(tr(request, OWN_ACCOUNT))
        secret, made = new_passphrase(request, how, passphrase, passphrase_again)
        app = state.site.app(staff)
        member = await confirmed(
            request, state, staff, your_passphrase, lambda: app.staff.change_passphrase(secret, name=target)
        )
    except Refused as refused:
        typed = {"form": "reset", "name": name, "how": how}
        return _staff_page(request, state, staff, refused.status, {"reset": refused.text}, typed)
    return render(request, "admin_passphrase.html", member=member, secret=secret if made else None, added=False)


@router.post("/admin/staff/remove")
async def remove_staff(
    request: Request,
    state: State,
    staff: StaffManager,
    name: Annotated[str, Form(max_length=200)],
    your_passphrase: Annotated[str, Form(max_length=1000)],
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    app = state.site.app(staff)
    try:
        await confirmed(request, state, staff, your_passphrase, lambda: app.staff.remove(name), confirm)
    except Refused as refused:
        typed = {"form": "remove", "name": name}
        return _staff_page(request, state, staff, refused.status, {"remove": refused.text}, typed)
    staff_session(request).flash = REMOVED
    return see_other("/admin/staff")


# ---------------------------------------------------------------- trust


def _age_days(issued_at: str, now: dt.datetime) -> int:
    issued = dt.datetime.fromisoformat(issued_at.replace("Z", "+00:00"))
    return max(0, (now - issued).days)


def _trust_page(
    request: Request,
    state: State,
    staff: StaffMember,
    status: int = 200,
    error: str | None = None,
    chosen: str | None = None,
) -> Response:
    """The trust page; after a refusal, ``chosen`` is the label the rotation form had (kept chosen)."""
    try:
        doc: dict[str, Any] | None = state.site.app(staff).trust.show()
    except TrustError as exc:
        doc, error = None, error or message(request, exc)
    signing = [k for k in doc["keys"] if k["status"] == "signing"] if doc else []
    return render(
        request,
        "admin_trust.html",
        status=status,
        doc=doc,
        age_days=_age_days(doc["issued_at"], state.site.now()) if doc else None,
        signing=signing,
        labels=sorted({k["label"] for k in signing}),
        chosen=chosen,
        key_status=KEY_STATUS,
        error=error,
        flash=staff_session(request).take_flash(),
    )


@router.get("/admin/trust")
def trust_page(request: Request, state: State, staff: TrustManager) -> Response:
    return _trust_page(request, state, staff)


@router.get("/admin/trust/trust-list.cbor")
def trust_list_download(state: State, staff: TrustManager) -> Response:
    """The signed trust list, as ``haven trust export`` writes it (for verifiers and other sites)."""
    data = state.site.app(staff).trust.export_list()
    return Response(
        data,
        media_type="application/cbor",
        headers={"Content-Disposition": 'attachment; filename="trust-list.cbor"'},
    )


@router.post("/admin/trust/rotate")
async def rotate_key(
    request: Request,
    state: State,
    staff: TrustManager,
    label: Annotated[str, Form(max_length=200)],
    your_passphrase: Annotated[str, Form(max_length=1000)],
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    app = state.site.app(staff)
    try:
        await confirmed(request, state, staff, your_passphrase, lambda: app.trust.rotate(label), confirm)
    except Refused as refused:
        return _trust_page(request, state, staff, refused.status, refused.text, chosen=label)
    staff_session(request).flash = ROTATED
    return see_other("/admin/trust")


# ---------------------------------------------------------------- audit


@router.get("/admin/audit")
def audit_page(request: Request, state: State, staff: AuditViewer, witness: str = "") -> Response:
    """The chain checked as ``haven audit verify [--witness SEQ:HASH]`` checks it, and the last entries."""
    app = state.site.app(staff)
    head: Head | None = None
    fault: AuditTamperedError | None = None
    error: str | None = None
    try:
        witnesses = (Head.parse(witness),) if witness.strip() else ()
        head = app.audit.verify(witnesses)
    except AuditTamperedError as exc:
        fault = exc
    except InputError as exc:
        error = message(request, exc)
    entries: list[dict[str, Any]] = []
    if fault is None:
        entries = list(reversed(app.audit.show(AUDIT_SHOWN)))
    return render(
        request,
        "admin_audit.html",
        status=409 if fault else (400 if error else 200),
        head=head,
        fault=None if fault is None else message(request, fault),
        error=error,
        witness=witness,
        entries=entries,
        action_name=action_name,
    )
