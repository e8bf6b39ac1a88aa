"""Your account: any signed-in staff member changes their own passphrase and duress passphrase.

The same use case as ``haven staff passwd`` (its rules: strength, a duress passphrase that differs, the
duress passphrase kept unless replaced or removed; its audit entry), after the member's own passphrase
is asked again as the coordinator pages ask it (:func:`haven.web.routes.admin_pages.confirmed`: through
the key slots, counted against the sign-in limits). The session that made the change stays signed in;
the member's other sessions end. Nothing typed comes back in a page, a URL or a log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from haven.site import passphrase as pp
from haven.web.deps import AnyStaff, State, staff_session
from haven.web.i18n import N_
from haven.web.render import render
from haven.web.routes.admin_pages import DIFFERENT, Refused, confirmed, tr
from haven.web.routes.staff_pages import see_other

router = APIRouter(include_in_schema=False)

CHANGED = N_("Your passphrase is changed. Your other sign-ins (other phones or browsers) are signed out.")
DURESS_DIFFERENT = N_("The two duress passphrases are not the same.")
DURESS_BOTH = N_("Either set a new duress passphrase or remove it, not both.")


def _page(request: Request, status: int = 200, error: str | None = None, suggestion: str | None = None) -> Response:
    flash = staff_session(request).take_flash()
    return render(request, "account.html", status=status, error=error, suggestion=suggestion, flash=flash)


@router.get("/account")
def account_page(request: Request, staff: AnyStaff, suggest: str = "") -> Response:
    """The form; with ``?suggest=1``, a fresh five-word passphrase shown once, for the member to type in."""
    return _page(request, suggestion=pp.suggest() if suggest else None)


@router.post("/account/passphrase")
async def change_passphrase(
    request: Request,
    state: State,
    staff: AnyStaff,
    your_passphrase: Annotated[str, Form(max_length=1000)],
    passphrase: Annotated[str, Form(max_length=1000)],
    passphrase_again: Annotated[str, Form(max_length=1000)],
    duress: Annotated[str, Form(max_length=1000)] = "",
    duress_again: Annotated[str, Form(max_length=1000)] = "",
    remove_duress: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """As ``haven staff passwd [--duress-passphrase-file F | --no-duress]``, for the signed-in member."""
    session = staff_session(request)
    try:
        if passphrase != passphrase_again:
            raise Refused(tr(request, DIFFERENT))
        if duress != duress_again:
            raise Refused(tr(request, DURESS_DIFFERENT))
        clear = remove_duress == "yes"
        if duress and clear:
            raise Refused(tr(request, DURESS_BOTH))
        new_duress = duress or None
        slot = await confirmed(
            request,
            state,
            staff,
            your_passphrase,
            lambda: state.site.change_own_passphrase(staff, passphrase, duress=new_duress, clear_duress=clear),
        )
    except Refused as refused:
        return _page(request, refused.status, refused.text)
    session.slot = slot  # this session goes on; the others hold the old slot and end
    session.flash = CHANGED
    return see_other("/account")
