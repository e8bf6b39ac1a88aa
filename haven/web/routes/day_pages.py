"""The day's work (anonymous counts of today: the site's for coordinators, one's own for everyone) and the
holder's return-date slip.

The slip says only when to come back and for which vaccine: no name, no clinic, no test and no care (a slip
found on someone must not tell, say, that they are in HIV care; the schedules are vaccinations' only).
Both print on A4 or on a 58 or 80 mm thermal roll (``paper``), as the card and the certificate sheet do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from haven.errors import NoRecordsError, StoreFullError
from haven.site.roles import Permission, allowed
from haven.web.deps import AnyStaff, State, TheOpenCard, VisitStaff
from haven.web.i18n import HTML_LANG, LOCALES, N_
from haven.web.render import gettext_for, render, request_locale
from haven.web.vocab import product_name, word

router = APIRouter(include_in_schema=False)

# The slip's words, in the holder's language (the page around it stays in the worker's).
COME_BACK = N_("Come back")
COME_BACK_BETWEEN = N_("Come back from %(start)s to %(end)s.")
COME_BACK_ON = N_("Come back on %(day)s.")
NOTHING_DUE = N_("No vaccine dose is due.")
PAPERS = ("a4", "80", "58")  # A4 sheet; thermal rolls 80 mm and 58 mm wide


def paper_of(value: str | None) -> str:
    return value if value in PAPERS else "a4"


@router.get("/today")
def day_work_page(request: Request, state: State, staff: AnyStaff) -> Response:
    """Coordinators: the site's day and the week (from the audit and the counters they alone open); everyone
    else: their own day, from the row only their passphrase opens (haven/site/daycount.py)."""
    work = state.site.app(staff).day_work
    if not allowed(staff.roles, Permission.REPORT_VIEW):
        return render(request, "today_own.html", mine=work.mine())
    return render(request, "today.html", day=work.today(), word=word, product_name=product_name)


@router.get("/card/slip")
def return_slip(
    request: Request,
    state: State,
    staff: VisitStaff,
    card: TheOpenCard,
    lang: Annotated[str | None, Query(max_length=10)] = None,
    paper: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    if not card.has_records or not allowed(staff.roles, Permission.SCHEDULE_VIEW):
        return RedirectResponse("/card", status_code=303)
    try:
        due = list(state.site.app(staff).visits.next_due(card.card, card.pin))
    except (NoRecordsError, StoreFullError):
        return RedirectResponse("/card", status_code=303)
    holder = lang if lang in LOCALES else request_locale(request)
    h = gettext_for(holder)
    lines = [
        (
            h(product_name(d.product)),
            h(COME_BACK_BETWEEN, start=d.recommended_from.isoformat(), end=d.recommended_by.isoformat())
            if d.recommended_from < d.recommended_by
            else h(COME_BACK_ON, day=d.recommended_from.isoformat()),
        )
        for d in due
    ]
    return render(
        request,
        "slip.html",
        lines=lines,
        title=h(COME_BACK),
        nothing_due=h(NOTHING_DUE),
        holder_language=holder,
        slip_lang=HTML_LANG[holder],
        paper=paper_of(paper),
        papers=PAPERS,
    )
