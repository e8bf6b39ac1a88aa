"""The JSON API (described at /openapi.json). Operations anyone may call are tagged ``public``.

Staff operations use the session cookie and, on every POST, PUT, PATCH and
DELETE, the ``X-CSRF-Token`` header; ``GET /api/session`` gives both.
Errors are ``{"error": {"code", "message", "details"}}`` with the error's HTTP
status (docs/errors.md).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from haven.app.certificates import MAX_PER_SHEET
from haven.app.reports import week_label
from haven.core.card import LANGUAGES
from haven.core.catalogue import catalogue
from haven.errors import NoRecordsError
from haven.web import cards
from haven.web.deps import (
    AnyStaff,
    CertificateStaff,
    CorrectStaff,
    HistoryStaff,
    NewCardStaff,
    ReportStaff,
    State,
    TheOpenCard,
    VisitStaff,
    client_address,
    csrf_protect,
    ensure_session,
    set_session,
    sign_out_session,
    signed_in_staff,
    staff_session,
    start_staff_session,
)
from haven.web.jsonbody import StrictJSONRoute
from haven.web.sessions import OpenCard

PUBLIC = "public"
STAFF = "staff"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorDoc(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorDoc, "description": text}
    for status, text in {
        400: "Bad input (a card that does not check out, a bad PIN).",
        401: "Not signed in (or the server locked since: sign in again).",
        403: "None of the staff member's roles allows this, or the CSRF token is missing.",
        409: "No card is open.",
        422: "The request or the visit does not have the expected form.",
        429: "Too many attempts; see Retry-After.",
    }.items()
}

router = APIRouter(prefix="/api", responses=ERRORS, route_class=StrictJSONRoute)


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class StaffInfo(BaseModel):
    name: str
    roles: list[str] = Field(description="Any of registrar, clinician and coordinator.")


class SessionInfo(BaseModel):
    signed_in: bool
    staff: StaffInfo | None = None
    csrf_token: str = Field(description="Send as X-CSRF-Token on every POST, PUT, PATCH and DELETE.")


class SignIn(BaseModel):
    name: str = Field(max_length=200)
    passphrase: str = Field(max_length=1000)


class CardOpen(BaseModel):
    card: str = Field(max_length=1000, description="The 13 words (space-separated) or the 32-character card code.")
    pin: str | None = Field(default=None, max_length=100)


class CardNew(BaseModel):
    language: Literal["en", "ko", "zh"] = "en"
    pin: str | None = Field(default=None, max_length=100)


class CardState(BaseModel):
    has_records: bool = Field(description="False: nothing here for this card (or the PIN is wrong).")
    new: bool = Field(description="True: a first visit will start this card's history.")
    words_language: str


class NewCard(BaseModel):
    words: list[str]
    qr: str = Field(description="The card code: the QR payload.")
    language: str


class VisitAdd(BaseModel):
    visit: list[Any] | dict[str, Any] = Field(description="A visit document (docs/entries.md).")
    first_visit: bool = Field(default=False, description="Start this card's history here if it has none.")
    confirm: str | None = Field(
        default=None,
        max_length=200,
        description="Why a visit the checks before saving warn about is right (1 to 80 characters, kept in its "
        "record): without it such a visit is refused (409 needs-confirmation, the warnings in details).",
    )


class HubPull(BaseModel):
    pulled: bool
    rows: int
    problem: str | None = None


class VisitAdded(BaseModel):
    index: int
    entries: int
    first_visit: bool
    stored: bool
    hub: HubPull | None = Field(None, description="Only at a site that remembers its hub: the pull made first.")


class CountRow(BaseModel):
    kind: str
    key: str
    count: int | None = Field(description="None when the count is below 5 (suppressed).")
    shown: str


class Counts(BaseModel):
    week: str
    weeks: list[str]
    rows: list[CountRow]
    unreadable: int = Field(0, description="Counter tallies that did not open (damaged or made up): left out of rows.")


def session_info(request: Request) -> SessionInfo:
    session = ensure_session(request)
    member = signed_in_staff(request)
    staff = StaffInfo(name=member.name, roles=member.roles.names()) if member else None
    return SessionInfo(signed_in=staff is not None, staff=staff, csrf_token=session.csrf)


# ---------------------------------------------------------------- public


@router.get("/health", tags=[PUBLIC])
def health() -> Health:
    """Whether the server is up."""
    return Health(status="ok", version=version("haven"))


@router.get("/catalogue", tags=[PUBLIC])
def catalogue_doc() -> dict[str, Any]:
    """The vaccines (with schedules' dose counts), tests and results the forms offer."""
    cat = catalogue()
    return {
        "version": cat.version,
        "products": [
            {"key": p.key, "name": p.name, "series": p.series, "doses": p.schedule.doses, "diseases": list(p.diseases)}
            for p in cat.products.values()
        ],
        "tests": list(cat.tests),
        "results": list(cat.results),
        "test_results": {t.key: list(t.results) for t in cat.tests.values()},  # what each test may give
        "card_languages": list(LANGUAGES),
    }


@router.get(
    "/trust-list",
    tags=[PUBLIC],
    responses={
        200: {"content": {"application/cbor": {}}, "description": "The signed trust list (COSE_Sign1)."},
        404: {
            "model": ErrorDoc,
            "description": "No trust list to give (`not-found`): the site has none, or the server has not been "
            "unlocked since it started. A locked server serves the list it last read (the same answer as "
            "unlocked); a verifier keeps using the list it has.",
        },
    },
)
def trust_list(state: State) -> Response:
    """The signed trust list the offline verifier checks and caches (CBOR, docs/certificate-format.md)."""
    body = state.site.trust_list()
    if body is None:
        return JSONResponse(
            {"error": {"code": "not-found", "message": "This server has no trust list to give yet."}}, status_code=404
        )
    return Response(body, media_type="application/cbor", headers={"Cache-Control": "no-cache"})


@router.get("/session", tags=[PUBLIC])
def get_session(request: Request) -> SessionInfo:
    """This browser's session: who is signed in, and the CSRF token (a session is started if there is none)."""
    return session_info(request)


@router.post("/session", tags=[PUBLIC], dependencies=[Depends(csrf_protect)])
async def sign_in(request: Request, state: State, body: SignIn) -> SessionInfo:
    """Sign in with a staff name and passphrase, through the site's key slots.

    The first sign-in opens the site (the server starts locked); failed sign-ins are limited per
    client address and in all (429 with Retry-After), in the server's memory: never the site's
    attempts file, its backoff or its erase-after.
    """
    signed = await state.sign_in(client_address(request), body.name, body.passphrase)
    start_staff_session(request, state, signed)
    return session_info(request)


@router.delete("/session", tags=[STAFF], status_code=204)
def sign_out(request: Request, state: State, staff: AnyStaff) -> Response:
    """Sign out: the session, and any card open in it, end now (the last one out locks the server)."""
    sign_out_session(state, staff_session(request))
    set_session(request, None)
    return Response(status_code=204)


# ---------------------------------------------------------------- cards


def card_state(card: OpenCard) -> CardState:
    return CardState(has_records=card.has_records, new=card.new, words_language=card.card.language)


@router.post("/cards/open", tags=[STAFF])
def open_card(request: Request, state: State, staff: VisitStaff, body: CardOpen) -> CardState:
    """Open a card in this session (rate-limited; a PIN attempt counts against the PIN limit too)."""
    opened = cards.open_card(state, staff_session(request), client_address(request), body.card, body.pin)
    return card_state(opened)


@router.get("/cards/open", tags=[STAFF])
def open_card_state(staff: VisitStaff, card: TheOpenCard) -> CardState:
    """The open card's state."""
    return card_state(card)


@router.delete("/cards/open", tags=[STAFF], status_code=204)
def close_card(request: Request, state: State, staff: VisitStaff) -> Response:
    """Close the open card (cards also close after the idle timeout)."""
    state.sessions.close_card(staff_session(request))
    return Response(status_code=204)


@router.post("/cards", tags=[STAFF])
def new_card(request: Request, state: State, staff: NewCardStaff, body: CardNew) -> NewCard:
    """Make a new card and open it. Nothing is stored until its first visit is recorded."""
    pin = cards.clean_pin(body.pin)
    card = state.site.app(staff).cards.new(body.language)
    state.sessions.open_card(staff_session(request), card, pin, has_records=False, new=True)
    return NewCard(words=card.words(), qr=card.code, language=body.language)


# ---------------------------------------------------------------- visits, history, counts


@router.post(
    "/visits",
    tags=[STAFF],
    response_model_exclude_none=True,
    responses={
        409: {
            "model": ErrorDoc,
            "description": "No card is open, or the checks before saving warn (`needs-confirmation`): send `confirm`.",
        }
    },
)
def add_visit(state: State, staff: VisitStaff, card: TheOpenCard, body: VisitAdd) -> VisitAdded:
    """Record one visit for the open card, whole or not at all (docs/entries.md)."""
    try:
        added = state.site.app(staff).visits.add(
            card.card, body.visit, card.pin, first_visit=card.new or body.first_visit, confirm=body.confirm
        )
    except NoRecordsError:
        card.has_records = False
        raise
    card.has_records, card.new = True, False
    return VisitAdded(**added.to_doc())


@router.get("/history", tags=[STAFF], responses={404: {"model": ErrorDoc, "description": "No records."}})
def history(state: State, staff: HistoryStaff, card: TheOpenCard) -> dict[str, Any]:
    """The open card's history and next doses due (the shape of ``haven history --json``)."""
    return state.site.app(staff).visits.history(card.card, card.pin).to_doc()


class CorrectionWanted(BaseModel):
    entry: str = Field(max_length=80, description='The entry\'s id "<visit index>.<record>.<entry number>".')
    kind: Literal["amend", "void"]
    replacement: dict[str, Any] | None = Field(
        None, description="amend: the entry as it should be, whole, of the same type (docs/entries.md)."
    )
    reason: str | None = Field(None, max_length=400, description="Why (required to void).")


class CorrectionMade(BaseModel):
    entry: str
    kind: str
    index: int = Field(description="The correction's own record index.")
    stored: bool


@router.post("/corrections", tags=[STAFF])
def correct_entry(state: State, staff: CorrectStaff, card: TheOpenCard, body: CorrectionWanted) -> CorrectionMade:
    """Amend or void an entry of the open card's history, as a new record (docs/entries.md, "Corrections")."""
    visits = state.site.app(staff).visits
    if body.kind == "amend":
        done = visits.correct(card.card, body.entry, body.replacement, body.reason, card.pin)
    else:
        done = visits.void(card.card, body.entry, body.reason or "", card.pin)
    return CorrectionMade(**done.to_doc())


class CertificatesWanted(BaseModel):
    entries: list[str] = Field(
        max_length=200, description='Entry ids "<visit index>.<record>.<entry number>" from the history.'
    )
    count: int = Field(ge=1, le=MAX_PER_SHEET, description="How many one-time certificates.")


class Sheet(BaseModel):
    texts: list[str] = Field(description="The one-time certificates (Base45), one QR code each.")
    expires: str = Field(description="When they expire (ISO 8601, UTC).")


@router.post(
    "/certificates",
    tags=[STAFF],
    responses={409: {"model": ErrorDoc, "description": "No card open, or the site cannot sign now (`trust`)."}},
)
def issue_certificates(state: State, staff: CertificateStaff, card: TheOpenCard, body: CertificatesWanted) -> Sheet:
    """Issue one-time certificates for entries of the open card's history (nothing of them is kept)."""
    app = state.site.app(staff)
    choices = app.certificates.choices(card.card, card.pin)
    sheet = app.certificates.issue_sheet(choices, body.entries, body.count, state.site.issuer(staff))
    return Sheet(texts=list(sheet.texts), expires=sheet.expires.isoformat().replace("+00:00", "Z"))


@router.get("/counts", tags=[STAFF])
def counts(
    state: State, staff: ReportStaff, week: Annotated[str | None, Query(max_length=10, examples=["2026-W48"])] = None
) -> Counts:
    """Anonymous counts for one ISO week (this week by default); counts below 5 are suppressed."""
    read = state.site.app(staff).reports.week(week)
    return Counts(
        week=week_label(read.week),
        weeks=[week_label(w) for w in read.weeks],
        rows=[CountRow(**r.to_doc()) for r in read.rows],
        unreadable=read.unreadable,
    )
