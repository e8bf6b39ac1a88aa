"""Correcting and voiding an entry of the open card's history (docs/entries.md, "Corrections").

The history page links each entry to a form of its own type, filled with the entry as it is now
(``/card/correct``), and voids with a reason in place (``/card/void``); both write a new sealed record
through the application's ``visits.correct`` and ``visits.void``, then show the history again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from haven.core.entries import entry_to_doc
from haven.errors import EntryError, NoRecordsError
from haven.web import forms
from haven.web.deps import CorrectStaff, State, TheOpenCard, staff_session
from haven.web.i18n import N_
from haven.web.messages import error_message
from haven.web.render import gettext_for, render, request_locale
from haven.web.routes.staff_pages import see_other, visit_context
from haven.web.vocab import product_name

router = APIRouter(include_in_schema=False)

CORRECTED = N_("Entry corrected.")
REASON = N_("Reason")
VOIDED = N_("Entry voided.")
SECTIONS = {"vaccination": "vac", "test": "test", "treatment": "care", "consultation": "care", "note": "note"}


def entry_form(doc: dict[str, Any]) -> dict[str, str]:
    """The correction form's fields filled from an entry document (the visit form's field names)."""
    names = forms.FIELD_NAMES[SECTIONS[doc["type"]]]
    form = {}
    for key, name in names.items():
        value = doc.get(key)
        if isinstance(value, list):
            value = ("," if key == "symptoms" else "\n").join(value)
        if value is not None:
            form[name] = str(value)
    return form


def _page(
    request: Request, state: State, entry: str, doc: dict[str, Any], form: dict[str, str], **extra: Any
) -> Response:
    return render(
        request,
        "correct.html",
        status=extra.pop("status", 200),
        entry=entry,
        shown=doc,
        section=SECTIONS[doc["type"]],
        form=form,
        product_name=product_name,
        **{"errors": {}, "summary": [], **extra},
        **visit_context(state),
    )


def _current(state: State, staff: Any, card: Any, entry: str) -> dict[str, Any] | None:
    """The entry as it is now (its last value, if voided); None where the card or the entry is not here."""
    try:
        history = state.site.app(staff).visits.history(card.card, card.pin)
        _, _, found = history.find(entry)
    except (NoRecordsError, KeyError):
        return None
    return entry_to_doc(found.current or found.before or found.original)


@router.get("/card/correct")
def correct_form(request: Request, state: State, staff: CorrectStaff, card: TheOpenCard, entry: str = "") -> Response:
    doc = _current(state, staff, card, entry)
    if doc is None:
        return see_other("/card/history")
    return _page(request, state, entry, doc, entry_form(doc))


@router.post("/card/correct")
async def correct_entry(request: Request, state: State, staff: CorrectStaff, card: TheOpenCard) -> Response:
    submitted = await request.form()
    form = {k: v for k, v in submitted.items() if isinstance(v, str) and k != "csrf_token"}
    symptoms = [v for v in submitted.getlist("care_symptoms") if isinstance(v, str)]
    form["care_symptoms"] = ",".join(symptoms)
    entry = form.pop("entry", "")
    doc = await run_in_threadpool(_current, state, staff, card, entry)
    if doc is None:
        return see_other("/card/history")
    section = SECTIONS[doc["type"]]
    visit, _sections = forms.visit_doc(form, symptoms)
    # The form shows this entry's section only: what it holds is the entry as it should be.
    replacement = visit["entries"][0] if visit["entries"] else {"type": doc["type"], "date": form.get("date")}
    try:
        await run_in_threadpool(
            state.site.app(staff).visits.correct, card.card, entry, replacement, form.get("reason"), card.pin
        )
    except EntryError as exc:
        return _refused(request, state, entry, doc, form, section, exc)
    except NoRecordsError:
        return see_other("/card")
    staff_session(request).flash = CORRECTED
    return see_other("/card/history")


@router.post("/card/void")
async def void_entry(request: Request, state: State, staff: CorrectStaff, card: TheOpenCard) -> Response:
    submitted = await request.form()
    entry, reason = str(submitted.get("entry", "")), str(submitted.get("reason", ""))
    try:
        await run_in_threadpool(state.site.app(staff).visits.void, card.card, entry, reason, card.pin)
    except EntryError as exc:
        doc = await run_in_threadpool(_current, state, staff, card, entry)
        if doc is None:
            return see_other("/card/history")
        return _refused(request, state, entry, doc, entry_form(doc), SECTIONS[doc["type"]], exc, void=True)
    except NoRecordsError:
        return see_other("/card")
    staff_session(request).flash = VOIDED
    return see_other("/card/history")


def _refused(
    request: Request,
    state: State,
    entry: str,
    doc: dict[str, Any],
    form: dict[str, str],
    section: str,
    exc: EntryError,
    void: bool = False,
) -> Response:
    """The form again, the problem beside its field and in the summary (a void's: beside its reason)."""
    if exc.field == "reason":
        name = "void_reason" if void else "reason"
    else:
        name = forms.field_name([section], exc.field.replace("replacement", "entries[0]", 1))
    text = error_message(exc, gettext_for(request_locale(request)))
    label = REASON if name in ("reason", "void_reason") else forms.LABELS.get(name)
    return _page(request, state, entry, doc, form, status=422, errors={name: text}, summary=[(name, label, text)])
