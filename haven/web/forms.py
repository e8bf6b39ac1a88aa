"""The add-visit form: form fields to a visit document, and entry errors back to form fields.

The form has one section per kind of entry; a section counts when any of its
fields is filled, so a filled field is never dropped: a dose without a vaccine
is refused at the vaccine ("choose one"), never saved as nothing. All entries
share the visit's date.

>>> doc, sections = visit_doc({"date": "2026-11-02", "vac_product": "td", "vac_dose": "1"})
>>> doc["entries"][0]["product"], sections
('td', ['vac'])
>>> field_name(sections, "entries[0].dose")
'vac_dose'
>>> visit_doc({"date": "2026-11-02", "vac_lot": "A1"})[0]["entries"]
[{'type': 'vaccination', 'date': '2026-11-02', 'lot': 'A1'}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from haven.errors import EntryError
from haven.web import clinical_forms
from haven.web.i18n import N_

SECTION_KEYS = {
    "vac": "vac_product",
    "test": "test_test",
    "care": "care_kind",
    "note": "note_text",
    **clinical_forms.SECTION_KEYS,
}
FIELD_NAMES = {
    "vac": {"product": "vac_product", "dose": "vac_dose", "lot": "vac_lot", "note": "vac_note", "date": "date"},
    "test": {
        "test": "test_test",
        "result": "test_result",
        "sample": "test_sample",
        "note": "test_note",
        "date": "date",
    },
    "care": {
        "type": "care_kind",
        "symptoms": "care_symptoms",
        "severity": "care_severity",
        "medicines": "care_medicines",
        "referral": "care_referral",
        "note": "care_note",
        "date": "date",
    },
    "note": {"text": "note_text", "date": "date"},
    **clinical_forms.FIELD_NAMES,
}
# Every field of each section, in the form's order: any one filled makes the section count.
SECTION_FIELDS = {section: [n for n in names.values() if n != "date"] for section, names in FIELD_NAMES.items()}
# The form's labels (msgids of visit.html), for the summary of errors that links to each field.
LABELS = {
    "date": N_("Date"),
    "vac_product": N_("Vaccine"),
    "vac_dose": N_("Dose number"),
    "vac_lot": N_("Lot number"),
    "vac_note": N_("Note"),
    "test_test": N_("Test"),
    "test_result": N_("Result"),
    "test_sample": N_("Sample"),
    "test_note": N_("Note"),
    "care_kind": N_("Care"),
    "care_symptoms": N_("Symptoms"),
    "care_severity": N_("Severity"),
    "care_medicines": N_("Medicines given (one per line)"),
    "care_referral": N_("Referred to"),
    "care_note": N_("Clinical note"),
    "note_text": N_("Note"),
    **clinical_forms.LABELS,
    "holder_birth_year": N_("Birth year"),
    "holder_age_band": N_("Age band"),
    "holder_sex": N_("Sex"),
    "holder_pregnant": N_("Pregnant"),
    "confirm_reason": N_("Why it is right to save it"),
}
CHOOSE_ONE = N_("Choose one, or clear the other fields of this section.")
_ENTRY_FIELD = re.compile(r"^entries\[(\d+)\]\.(\w+)")


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _number(form: Mapping[str, Any], name: str) -> int | str | None:
    value = _text(form, name)
    if value is None:
        return None
    return int(value) if value.isdigit() and len(value) < 6 else value


def _lines(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in re.split(r"[\n,;]", value) if part.strip()]


def used(form: Mapping[str, Any], section: str, symptoms: Sequence[str] = ()) -> bool:
    """Whether any field of ``section`` is filled."""
    return any(_text(form, name) for name in SECTION_FIELDS[section]) or (section == "care" and bool(symptoms))


def visit_doc(form: Mapping[str, Any], symptoms: Sequence[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """The visit document for a submitted form, and the sections it used, in entry order."""
    date = _text(form, "date")
    entries: list[dict[str, Any]] = []
    sections: list[str] = []

    def add(section: str, entry: dict[str, Any]) -> None:
        entries.append({k: v for k, v in entry.items() if v not in (None, [], "")})
        sections.append(section)

    if used(form, "vac"):
        add(
            "vac",
            {
                "type": "vaccination",
                "product": _text(form, "vac_product"),
                "dose": _number(form, "vac_dose"),
                "date": date,
                "lot": _text(form, "vac_lot"),
                "note": _text(form, "vac_note"),
            },
        )
    if used(form, "test"):
        add(
            "test",
            {
                "type": "test",
                "test": _text(form, "test_test"),
                "result": _text(form, "test_result"),
                "date": date,
                "sample": _text(form, "test_sample"),
                "note": _text(form, "test_note"),
            },
        )
    if used(form, "care", symptoms):
        add(
            "care",
            {
                "type": _text(form, "care_kind"),
                "date": date,
                "symptoms": list(symptoms),
                "severity": _text(form, "care_severity"),
                "medicines": _lines(_text(form, "care_medicines")),
                "referral": _text(form, "care_referral"),
                "note": _text(form, "care_note"),
            },
        )
    if used(form, "note"):
        add("note", {"type": "note", "date": date, "text": _text(form, "note_text")})
    for section, entry in clinical_forms.entries(form, date):
        add(section, entry)
    holder: dict[str, Any] = {}
    birth_year = _number(form, "holder_birth_year")
    if birth_year is not None:
        holder["birth_year"] = birth_year
    for name in ("age_band", "sex"):
        value = _text(form, f"holder_{name}")
        if value:
            holder[name] = value
    pregnant = _text(form, "holder_pregnant")
    if pregnant in ("yes", "no"):
        holder["pregnant"] = pregnant == "yes"
    doc: dict[str, Any] = {"entries": entries}
    if holder:
        doc["holder"] = holder
    return doc, sections


def field_name(sections: Sequence[str], field: str) -> str:
    """The form field an :class:`~haven.errors.EntryError` field path points at."""
    if field == "confirm":  # the reason that confirms the checks' warnings
        return "confirm_reason"
    if field.startswith("holder."):
        return "holder_" + field.split(".", 1)[1]
    match = _ENTRY_FIELD.match(field)
    if match:
        index, name = int(match.group(1)), match.group(2)
        if index < len(sections):
            return FIELD_NAMES[sections[index]].get(name, SECTION_KEYS[sections[index]])
    return "form"


def form_errors(sections: Sequence[str], problems: Sequence[EntryError]) -> dict[str, EntryError | str]:
    """The first problem of each form field, in the order found; a section's missing key is :data:`CHOOSE_ONE`.

    A section counts only when one of its fields is filled, so its key field
    missing means something else of it was filled in.
    """
    errors: dict[str, EntryError | str] = {}
    keys = set(SECTION_KEYS.values())
    for problem in problems:
        name = field_name(sections, problem.field)
        if name not in errors:
            errors[name] = CHOOSE_ONE if name in keys and problem.problem == "required" else problem
    order = ["form", *LABELS]  # the form's order, top to bottom, as the summary lists them
    return {name: errors[name] for name in sorted(errors, key=order.index)}
