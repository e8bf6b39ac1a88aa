"""The lots page: the site's lot register (docs/cli-lots.md); coordinators add and retire lots, others view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from haven.core.catalogue import catalogue
from haven.errors import InputError
from haven.site.roles import Permission, allowed
from haven.web.deps import LotStaff, LotViewStaff, State, staff_session
from haven.web.i18n import N_
from haven.web.render import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)

ADDED = N_("Lot added.")
RETIRED = N_("Lot retired: the visit form no longer offers it.")
STATUSES = {"in-use": N_("in use"), "expired": N_("expired"), "retired": N_("retired")}
# A refused lot, by the field it names and its problem (the English message is the command line's).
REFUSALS = {
    ("product", None): N_("Choose a vaccine."),
    ("lot", None): N_("A lot number has 1 to 40 characters."),
    ("lot", "duplicate"): N_("This lot of this vaccine is already in the register."),
    ("lot", "unknown"): N_("There is no such lot in the register."),
    ("expiry", None): N_("Enter the expiry date as YYYY-MM-DD."),
    ("expiry", "no-day"): N_("There is no such day: check the expiry date's month and day."),
    ("received", None): N_("Doses received are a whole number from 1 to 1000000."),
}


def _page(request: Request, state: State, staff: LotViewStaff, status: int = 200, **extra: object) -> Response:
    lines = state.site.app(staff).lots.list(state.site.date_today())
    return render(
        request,
        "lots.html",
        status=status,
        lines=lines,
        products=list(catalogue().products),
        may_manage=allowed(staff.roles, Permission.LOT_MANAGE),
        shows_used=allowed(staff.roles, Permission.REPORT_VIEW),
        lot_status=STATUSES,
        flash=staff_session(request).take_flash(),
        **{"form": {}, "error": None, **extra},
    )


def _refused(request: Request, exc: InputError) -> tuple[str, str]:
    field = str(exc.details.get("field", "lot"))
    template = REFUSALS.get((field, exc.problem)) or REFUSALS.get((field, None))
    return field, gettext_for(request_locale(request))(template) if template else exc.message


@router.get("/lots")
def lots_page(request: Request, state: State, staff: LotViewStaff) -> Response:
    return _page(request, state, staff)


@router.post("/lots")
def add_lot(
    request: Request,
    state: State,
    staff: LotStaff,
    product: Annotated[str, Form(max_length=40)] = "",
    lot: Annotated[str, Form(max_length=200)] = "",
    expiry: Annotated[str, Form(max_length=40)] = "",
    received: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    form = {"product": product, "lot": lot, "expiry": expiry, "received": received}
    try:
        doses = int(received) if received.strip() else None
    except ValueError:
        doses = 0  # refused below with the field's own message
    try:
        state.site.app(staff).lots.add(product, lot, expiry, doses)
    except InputError as exc:
        return _page(request, state, staff, 422, form=form, error=_refused(request, exc))
    staff_session(request).flash = ADDED
    return RedirectResponse("/lots", status_code=303)


@router.post("/lots/retire")
def retire_lot(
    request: Request,
    state: State,
    staff: LotStaff,
    product: Annotated[str, Form(max_length=40)] = "",
    lot: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        state.site.app(staff).lots.retire(product, lot)
    except InputError as exc:
        return _page(request, state, staff, 422, error=("retire", _refused(request, exc)[1]))
    staff_session(request).flash = RETIRED
    return RedirectResponse("/lots", status_code=303)
