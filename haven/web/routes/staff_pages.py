"""Staff pages: sign-in, opening and making cards, visits, history, certificates, counts, panic.

Pages post ordinary forms (they work without JavaScript; scripts add the
camera). Every route here depends on one staff dependency from ``deps``: one
permission of the site's role matrix (``haven.site.roles``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from haven import qr
from haven.app.certificates import MAX_PER_SHEET, certifiable
from haven.app.reports import parse_week, week_label
from haven.core.card import LANGUAGES
from haven.core.catalogue import catalogue
from haven.core.entries import AGE_BANDS, SAMPLES, SEVERITIES, SEXES, SYMPTOMS, visit_problems
from haven.errors import (
    CardError,
    ChecksNeedConfirmationError,
    EntryError,
    ExpiredLotError,
    HavenError,
    InputError,
    NoRecordsError,
    PinError,
    StoreFullError,
    TrustError,
)
from haven.export.ddcc import has_ddcc_content
from haven.hub.pull import Pulled
from haven.site.roles import Permission, allowed
from haven.web import cards, check_warnings, clinical_forms, forms, sheet
from haven.web.deps import (
    AnyStaff,
    CertificateStaff,
    HistoryStaff,
    NewCardStaff,
    ReportStaff,
    State,
    TheOpenCard,
    VisitStaff,
    client_address,
    csrf_protect,
    current_session,
    ensure_session,
    set_session,
    sign_out_session,
    signed_in_staff,
    staff_session,
    start_staff_session,
)
from haven.web.handlers import http_status, retry_headers
from haven.web.i18n import HTML_LANG, LANG_COOKIE, LOCALES, N_
from haven.web.lot_choices import lot_choices
from haven.web.messages import BY_CODE, error_message
from haven.web.render import gettext_for, render, request_locale
from haven.web.routes import day_pages
from haven.web.vocab import product_name, word

router = APIRouter(include_in_schema=False)

RECORDED = N_("Visit recorded.")
# After saving, where the pull from the site's hub did not happen (haven/hub/pull.py), as the CLI warns.
RECORDED_HUB_DOWN = N_(
    "Visit recorded, but the hub did not answer: it was recorded from this clinic's records only. "
    "Sync when the hub is back."
)
RECORDED_UNPULLED = N_(
    "Visit recorded, but the pull from the hub failed: it was recorded from this clinic's records only. "
    "Ask a coordinator to sync."
)
CLOSED = N_("Card closed.")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local_path(target: str | None) -> str:
    """Only a path on this site (no scheme, no host): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def message(request: Request, exc: HavenError, typed: str = "") -> str:
    return error_message(exc, gettext_for(request_locale(request)), typed)


# ---------------------------------------------------------------- signing in


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    ensure_session(request)
    if signed_in_staff(request) is not None:
        return see_other("/")
    return render(request, "sign_in.html", error=None, name="")


@router.post("/sign-in", dependencies=[Depends(csrf_protect)])
async def sign_in(
    request: Request,
    state: State,
    name: Annotated[str, Form(max_length=200)],
    passphrase: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        signed = await state.sign_in(client_address(request), name, passphrase)
    except HavenError as exc:
        response = render(request, "sign_in.html", status=http_status(exc), error=message(request, exc), name=name)
        response.headers.update(retry_headers(exc))
        return response
    start_staff_session(request, state, signed)
    return see_other("/")


@router.post("/sign-out")
def sign_out(request: Request, state: State, staff: AnyStaff) -> Response:
    sign_out_session(state, staff_session(request))
    set_session(request, None)
    return see_other("/sign-in")


@router.get("/panic")
def panic_page(request: Request, staff: AnyStaff) -> Response:
    return render(request, "panic.html")


@router.post("/panic")
async def panic(request: Request, state: State, staff: AnyStaff) -> Response:
    """Erase the site's keys now (after the confirmation on /panic): nothing here opens again."""
    submitted = await request.form()
    if submitted.get("confirm") != "erase":
        return see_other("/panic")
    await run_in_threadpool(state.site.panic)
    state.sessions.drop(staff_session(request))
    set_session(request, None)
    return see_other("/sign-in")


@router.post("/language", dependencies=[Depends(csrf_protect)])
def choose_language(
    request: Request, lang: Annotated[str, Form(max_length=10)], next: Annotated[str, Form(max_length=500)] = "/"
) -> Response:
    response = see_other(local_path(next))
    if lang in LOCALES:
        session = current_session(request)
        if session is not None:
            session.language = lang
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="strict", httponly=True)
    return response


# ---------------------------------------------------------------- opening and making cards


def _home(
    request: Request, status: int = 200, error: str | None = None, typed: str = "", tab: str = "words"
) -> Response:
    session = staff_session(request)
    return render(
        request,
        "home.html",
        status=status,
        error=error,
        typed=typed,
        tab=tab,
        flash=session.take_flash(),
        card_languages=list(LANGUAGES),
    )


@router.get("/")
def home(request: Request, state: State, staff: AnyStaff) -> Response:
    if not allowed(staff.roles, Permission.VISIT_ADD):
        return see_other("/counts")
    if state.sessions.card(staff_session(request)) is not None:
        return see_other("/card")
    return _home(request)


@router.post("/cards/open")
def open_card(
    request: Request,
    state: State,
    staff: VisitStaff,
    card: Annotated[str, Form(max_length=1000)] = "",
    pin: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        cards.open_card(state, staff_session(request), client_address(request), card, pin)
    except (CardError, PinError, InputError) as exc:
        return _home(request, 400, message(request, exc, card), typed=card)
    return see_other("/card")


@router.post("/cards/open-photo")
async def open_card_photo(
    request: Request,
    state: State,
    staff: VisitStaff,
    photo: Annotated[UploadFile | None, File()] = None,
    pin: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    data = b"" if photo is None else await photo.read(state.settings.upload_max_bytes + 1)
    session = staff_session(request)
    try:
        if not data:  # "Read the photo" with no file chosen (or an empty one): said, not a silent reload
            raise InputError("Choose a photo of the QR code first.", problem="no-photo")
        address = client_address(request)
        cards.count_attempt(state, session, address, bool(pin.strip()))  # before the (costly) decoding
        if len(data) > state.settings.upload_max_bytes:
            raise InputError("This photo is too large.", problem="image")
        text = await run_in_threadpool(cards.decode_photo, data)
        await run_in_threadpool(cards.open_card, state, session, address, text, pin, True)
    except (CardError, PinError, InputError) as exc:
        return _home(request, 400, message(request, exc), tab="photo")
    return see_other("/card")


@router.post("/cards/new")
def new_card(
    request: Request,
    state: State,
    staff: NewCardStaff,
    language: Annotated[str, Form(max_length=5)] = "en",
    pin: Annotated[str, Form(max_length=100)] = "",
    pin_again: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _ = gettext_for(request_locale(request))
    try:
        if language not in LANGUAGES:
            raise InputError("Choose a language for the words.")
        if pin != pin_again:
            raise PinError("The two PINs differ.", problem="mismatch")
        clean = cards.clean_pin(pin)
    except (InputError, PinError) as exc:
        error = (
            _("The two PINs are not the same.") if exc.details.get("problem") == "mismatch" else message(request, exc)
        )
        return render(
            request,
            "home.html",
            status=400,
            error=None,
            new_error=error,
            new_language=language if language in LANGUAGES else None,  # the choice made stays chosen
            typed="",
            tab="new",
            flash=None,
            card_languages=list(LANGUAGES),
        )
    card = state.site.app(staff).cards.new(language)
    state.sessions.open_card(staff_session(request), card, clean, has_records=False, new=True)
    return see_other("/card/print")


# ---------------------------------------------------------------- the open card


@router.get("/card")
def card_page(request: Request, state: State, staff: VisitStaff, card: TheOpenCard) -> Response:
    may_read = allowed(staff.roles, Permission.HISTORY_VIEW)
    return render(
        request,
        "card.html",
        card=card,
        flash=staff_session(request).take_flash(),
        # Who records doses but may not read the history still sees which one is due (the rest see it there).
        next_due=None if may_read else _viewed_next_due(state, staff, card),
        word=word,
        product_name=product_name,
        may_read=may_read,
        may_certify=allowed(staff.roles, Permission.CERTIFICATE_ISSUE),
        may_print=allowed(staff.roles, Permission.CARD_NEW),
        may_slip=allowed(staff.roles, Permission.SCHEDULE_VIEW),
    )


def _viewed_next_due(state: Any, staff: Any, card: Any) -> list[dict[str, Any]] | None:
    """The open card's doses due, with their audit entry; None where there is nothing to show."""
    if not card.has_records or not allowed(staff.roles, Permission.SCHEDULE_VIEW):
        return None
    try:
        return [d.to_doc() for d in state.site.app(staff).visits.next_due(card.card, card.pin)]
    except (NoRecordsError, StoreFullError):  # a reading the log cannot hold is not shown; the card stays usable
        return None


@router.get("/card/start-history")
def start_history_page(request: Request, staff: VisitStaff, card: TheOpenCard) -> Response:
    """The deliberate second step: a wrong PIN finds no records too, so starting a history is asked twice."""
    if card.has_records or card.new:
        return see_other("/card")
    return render(request, "start_history.html", card=card)


@router.post("/card/start-history")
def start_history(staff: VisitStaff, card: TheOpenCard) -> Response:
    card.new = True
    return see_other("/card/visit")


@router.post("/card/close")
def close_card(request: Request, state: State, staff: VisitStaff) -> Response:
    session = staff_session(request)
    state.sessions.close_card(session)
    session.flash = CLOSED
    return see_other("/")


@router.get("/card/print")
def print_card(
    request: Request, staff: NewCardStaff, card: TheOpenCard, words: str | None = None, paper: str | None = None
) -> Response:
    language = words if words in LANGUAGES else card.card.language
    return render(
        request,
        "card_print.html",
        paper=day_pages.paper_of(paper),
        papers=day_pages.PAPERS,
        card=card,
        words=card.card.words(language),
        words_language=language,
        card_languages=list(LANGUAGES),
        qr_svg=qr_markup(card.card.code),
    )


def qr_markup(text: str) -> str:
    """An inline SVG of the QR code that scales with its box (no width/height, a viewBox)."""
    import io

    out = io.BytesIO()
    qr.make(text).save(out, kind="svg", scale=1, border=4, xmldecl=False, svgns=True, omitsize=True, svgclass="qr")
    return out.getvalue().decode("utf-8")


# ---------------------------------------------------------------- visits


def visit_context(state: State, staff: Any = None) -> dict[str, Any]:
    """What the visit form shows; ``staff``: whose register the lot field offers (none: typed freely)."""
    cat = catalogue()
    register = state.site.app(staff).lots.register() if staff is not None else None
    return {
        "lots": lot_choices(register, state.site.date_today()) if register is not None else {},
        "products": [(p.key, product_name(p.key)) for p in cat.products.values()],
        "tests": list(cat.tests),
        "results": list(cat.results),
        "samples": SAMPLES,
        "severities": SEVERITIES,
        "symptoms": SYMPTOMS,
        "sexes": SEXES,
        "age_bands": AGE_BANDS,
        "today": state.site.date_today().isoformat(),
        "word": word,
        **clinical_forms.context(),
    }


@router.get("/card/visit")
def visit_form(request: Request, state: State, staff: VisitStaff, card: TheOpenCard) -> Response:
    if not card.has_records and not card.new:
        return see_other("/card")
    return render(
        request,
        "visit.html",
        card=card,
        form={"date": state.site.date_today().isoformat()},
        errors={},
        summary=[],
        new=card.new,
        closed=False,
        **visit_context(state, staff),
    )


def visit_refused(
    request: Request,
    state: State,
    staff: Any,
    form: dict[str, str],
    found: dict[str, EntryError | str],
    new: bool = False,
    closed: bool = False,
    errors: dict[str, str] | None = None,
    typed: str = "",
    warnings: list[tuple[str, str]] | None = None,
) -> Response:
    """The form again with what was typed, every error beside its field and in a summary at the top
    (``closed``: the card closed meanwhile, and the form asks for it again; ``warnings``: the checks
    before saving warned, and the form asks for a reason to save anyway)."""
    errors = dict(errors or {})
    errors.update({name: _text(request, p) if isinstance(p, str) else message(request, p) for name, p in found.items()})
    summary = [(name, forms.LABELS.get(name), text) for name, text in errors.items() if name != "reopen_card"]
    return render(
        request,
        "visit.html",
        status=409 if closed or (warnings and not found) else 422,
        form=form,
        warnings=warnings or [],
        errors=errors,
        summary=summary,
        new=new or form.get("first_visit") == "1",
        closed=closed,
        typed=typed,
        **visit_context(state, staff),
    )


def _text(request: Request, msgid: str) -> str:
    return gettext_for(request_locale(request))(msgid)


@router.post("/card/visit")
async def add_visit(request: Request, state: State, staff: VisitStaff) -> Response:
    submitted = await request.form()
    form = {k: v for k, v in submitted.items() if isinstance(v, str) and k != "csrf_token"}
    symptoms = [v for v in submitted.getlist("care_symptoms") if isinstance(v, str)]
    form["care_symptoms"] = ",".join(symptoms)
    for name in clinical_forms.LIST_FIELDS:
        form[name] = ",".join(v for v in submitted.getlist(name) if isinstance(v, str))
    reopen, reopen_pin = form.pop("reopen_card", "").strip(), form.pop("reopen_pin", "")
    session = staff_session(request)
    card = state.sessions.card(session)
    if card is None:
        # The card closed while the visit was typed: the form comes back whole, to open the card again
        # in it and save (the draft lives in the page only, never on the server).
        if not reopen:
            return visit_refused(request, state, staff, form, {}, closed=True)
        try:
            address = client_address(request)
            card = await run_in_threadpool(cards.open_card, state, session, address, reopen, reopen_pin)
        except (CardError, PinError, InputError) as exc:
            errors = {"reopen_card": message(request, exc, reopen)}
            return visit_refused(request, state, staff, form, {}, closed=True, errors=errors, typed=reopen)
        card.new = not card.has_records and form.get("first_visit") == "1"
        if not card.has_records and not card.new:
            state.sessions.close_card(session)
            errors = {"reopen_card": _text(request, BY_CODE["no-records"])}
            return visit_refused(request, state, staff, form, {}, closed=True, errors=errors, typed=reopen)
    doc, sections = forms.visit_doc(form, symptoms)
    # "Save anyway" sends the reason that confirms the warnings shown; a blank one confirms nothing.
    pressed = form.pop("confirm", "") == "1"
    reason = form.get("confirm_reason", "").strip() if pressed else ""
    warnings: list[tuple[str, str]] = []
    # Every problem at once (the core's checks, before any key is used); then the save checks them again.
    problems = visit_problems(doc, state.site.date_today())
    try:
        if not problems:
            add = state.site.app(staff).visits.add
            added = await run_in_threadpool(add, card.card, doc, card.pin, card.new, reason or None)
    except ChecksNeedConfirmationError as exc:
        warnings = check_warnings.form_warnings(sections, exc.warnings, gettext_for(request_locale(request)))
        if pressed and not reason:
            problems = [EntryError("confirm", "required")]
    except EntryError as exc:
        problems = [exc]
    except ExpiredLotError as exc:
        beside = {forms.field_name(sections, exc.field): message(request, exc)}
        return visit_refused(request, state, staff, form, {}, new=card.new, errors=beside)
    except NoRecordsError:
        card.has_records = False
        return see_other("/card")
    if problems or warnings:
        found = forms.form_errors(sections, problems)
        return visit_refused(request, state, staff, form, found, new=card.new, warnings=warnings)
    card.has_records, card.new = True, False
    session = staff_session(request)
    session.flash = recorded_flash(added.hub)
    return see_other("/card/history" if allowed(staff.roles, Permission.HISTORY_VIEW) else "/card")


def recorded_flash(pulled: Pulled | None) -> str:
    """The message after a visit is saved: whether the pull from the hub went first."""
    if pulled is None or pulled.problem is None:
        return RECORDED
    return RECORDED_HUB_DOWN if pulled.reason == "unreachable" else RECORDED_UNPULLED


# ---------------------------------------------------------------- history and certificates


def _viewed_history(state: Any, staff: Any, card: Any) -> Any:
    """The open card's history, with its audit entry; None where the card has no records here."""
    try:
        return state.site.app(staff).visits.history(card.card, card.pin)
    except NoRecordsError:
        return None


@router.get("/card/history")
def history_page(request: Request, state: State, staff: HistoryStaff, card: TheOpenCard) -> Response:
    history = _viewed_history(state, staff, card)
    if history is None:
        return see_other("/card")
    return render(
        request,
        "history.html",
        card=card,
        history=history.to_doc(),
        flash=staff_session(request).take_flash(),
        word=word,
        product_name=product_name,
        warning_title=check_warnings.warning_title,
        may_certify=allowed(staff.roles, Permission.CERTIFICATE_ISSUE),
        may_import=allowed(staff.roles, Permission.CERTIFICATE_IMPORT),
        has_ddcc=has_ddcc_content(history),
    )


def _certificates_page(
    request: Request,
    state: State,
    staff: Any,
    choices: Any,
    status: int = 200,
    error: str | None = None,
    chosen: Any = (),
    holder_language: str | None = None,
) -> Response:
    year, tests = sheet.expiries(choices, state.site.app(staff).now())
    return render(
        request,
        "certificates.html",
        status=status,
        entries=choices,
        chosen=set(chosen),
        error=error,
        max_count=MAX_PER_SHEET,
        vaccination_expiry=year,
        test_expiry=tests,
        cut=max((tests[key] for key in chosen if key in tests), default=None),
        holder_language=holder_language or request_locale(request),
        papers=day_pages.PAPERS,
        sheet_valid=sheet.SHEET_VALID,
        test_cuts=sheet.TEST_CUTS,
    )


@router.get("/card/certificates")
def certificates_page(request: Request, state: State, staff: CertificateStaff, card: TheOpenCard) -> Response:
    history = _viewed_history(state, staff, card)
    if history is None:
        return see_other("/card")
    return _certificates_page(request, state, staff, certifiable(history))


@router.post("/card/certificates")
async def issue_certificates(request: Request, state: State, staff: CertificateStaff, card: TheOpenCard) -> Response:
    submitted = await request.form()
    chosen = [v for v in submitted.getlist("entry") if isinstance(v, str)]
    raw_count = submitted.get("count")
    count = int(raw_count) if isinstance(raw_count, str) and raw_count.isdigit() and len(raw_count) < 4 else 0
    language, paper = submitted.get("language"), submitted.get("paper")
    holder_language = language if isinstance(language, str) and language in LOCALES else request_locale(request)
    app = state.site.app(staff)
    try:
        choices = await run_in_threadpool(app.certificates.choices, card.card, card.pin)
    except NoRecordsError:
        return see_other("/card")
    _ = gettext_for(request_locale(request))
    issuer = state.site.issuer(staff)
    try:
        issued = await run_in_threadpool(app.certificates.issue_sheet, choices, chosen, count, issuer)
    except InputError as exc:
        error = (
            _("Choose at least one entry, and 1 to %(n)s certificates.", n=MAX_PER_SHEET)
            if exc.details.get("problem") == "selection"
            else message(request, exc)
        )
        return _certificates_page(request, state, staff, choices, 400, error, chosen, holder_language)
    except TrustError as exc:
        error = message(request, exc)
        return _certificates_page(request, state, staff, choices, http_status(exc), error, chosen, holder_language)
    # The sheet's own words in the holder's language; the page around it stays in the worker's.
    return render(
        request,
        "sheet_print.html",
        sheet=issued,
        stubs=[(text, qr_markup(text)) for text in issued.texts],
        texts=sheet.texts(gettext_for(holder_language), issued.expires.strftime("%Y-%m-%d %H:%M UTC")),
        sheet_lang=HTML_LANG[holder_language],
        paper=day_pages.paper_of(paper if isinstance(paper, str) else None),
    )


# ---------------------------------------------------------------- counts


@router.get("/counts")
def counts_page(request: Request, state: State, staff: ReportStaff, week: str | None = None) -> Response:
    try:
        chosen = parse_week(week, state.site.date_today())
    except InputError:
        chosen = None  # a page shows this week rather than refuse
    read = state.site.app(staff).reports.week(chosen)
    rows = read.rows
    return render(
        request,
        "counts.html",
        week=week_label(read.week),
        weeks=[week_label(w) for w in read.weeks],
        rows=rows,
        top=max((r.count for r in rows), default=1),
        word=word,
        product_name=product_name,
        catalogue_products=set(catalogue().products),
    )
