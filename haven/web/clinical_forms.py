"""The visit form's clinical sections (vital signs, weight, allergy, AEFI): fields to entries, and back.

Like the other sections (:mod:`haven.web.forms`), one counts when any of its
fields is filled, so nothing typed is dropped: a reaction ticked without a
substance is refused at the substance. Measurements are typed as text and read
as numbers here; anything that is not one goes to the core as it was typed, to
be refused there with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from haven.core.catalogue import catalogue
from haven.core.entries import AEFI_CATEGORIES, AEFI_OUTCOMES, ALLERGENS, ALLERGY_SEVERITIES
from haven.web.i18n import N_

# Section -> {entry field: form field}; the first form field is the one a "choose one" error marks.
FIELD_NAMES = {
    "vitals": {
        "temperature_c": "vit_temperature",
        "pulse_per_min": "vit_pulse",
        "respiratory_rate_per_min": "vit_respiration",
        "systolic_mmhg": "vit_systolic",
        "diastolic_mmhg": "vit_diastolic",
        "spo2_percent": "vit_spo2",
        "date": "date",
    },
    "weight": {"weight_kg": "wt_weight", "height_cm": "wt_height", "muac_mm": "wt_muac", "date": "date"},
    "allergy": {
        "substance": "al_substance",
        "substance_text": "al_substance_text",
        "reactions": "al_reactions",
        "severity": "al_severity",
        "date": "date",
    },
    "aefi": {
        "product": "aefi_product",
        "dose": "aefi_dose",
        "vaccination_date": "aefi_vaccination_date",
        "category": "aefi_category",
        "serious": "aefi_serious",
        "reactions": "aefi_reactions",
        "outcome": "aefi_outcome",
        "date": "date",
    },
}
SECTION_KEYS = {"vitals": "vit_temperature", "weight": "wt_weight", "allergy": "al_substance", "aefi": "aefi_product"}
LIST_FIELDS = ("al_reactions", "aefi_reactions")  # checkboxes: the route joins their values with commas
LABELS = {
    "vit_temperature": N_("Temperature (°C)"),
    "vit_pulse": N_("Pulse (beats a minute)"),
    "vit_respiration": N_("Breaths a minute"),
    "vit_systolic": N_("Blood pressure, systolic (mmHg)"),
    "vit_diastolic": N_("Blood pressure, diastolic (mmHg)"),
    "vit_spo2": N_("Oxygen saturation (SpO2, %)"),
    "wt_weight": N_("Weight (kg)"),
    "wt_height": N_("Height or length (cm)"),
    "wt_muac": N_("Mid-upper arm circumference (MUAC, mm)"),
    "al_substance": N_("Allergic to"),
    "al_substance_text": N_("or another substance, in words"),
    "al_reactions": N_("Reactions"),
    "al_severity": N_("Severity"),
    "aefi_product": N_("Vaccine given"),
    "aefi_dose": N_("Dose number"),
    "aefi_vaccination_date": N_("Date the vaccine was given"),
    "aefi_category": N_("WHO category"),
    "aefi_serious": N_("Serious"),
    "aefi_reactions": N_("What happened"),
    "aefi_outcome": N_("Outcome"),
}
_DECIMAL = re.compile(r"^-?[0-9]{1,4}([.,][0-9]{1,3})?$")  # a minus too: "-3" is out of range, not text


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _measure(form: Mapping[str, Any], name: str) -> float | int | str | None:
    """A typed number (a decimal comma read as a point); other text as typed, for the core to refuse."""
    value = _text(form, name)
    if value is None or not _DECIMAL.match(value):
        return value
    value = value.replace(",", ".")
    return float(value) if "." in value else int(value)


def _choices(form: Mapping[str, Any], name: str) -> list[str]:
    value = _text(form, name)
    return [part for part in value.split(",") if part] if value else []


def used(form: Mapping[str, Any], section: str) -> bool:
    return any(_text(form, name) for key, name in FIELD_NAMES[section].items() if key != "date")


def entries(form: Mapping[str, Any], date: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The clinical entries the form holds, each with its section, in the form's order."""
    out: list[tuple[str, dict[str, Any]]] = []
    entry: dict[str, Any]
    for section in ("vitals", "weight"):
        if used(form, section):
            names = FIELD_NAMES[section]
            measures = {key: _measure(form, name) for key, name in names.items() if key != "date"}
            out.append((section, {"type": section, "date": date, **measures}))
    if used(form, "allergy"):
        names = FIELD_NAMES["allergy"]
        entry = {
            "type": "allergy",
            "date": date,
            "substance": _text(form, names["substance"]),
            "substance_text": _text(form, names["substance_text"]),
            "reactions": _choices(form, names["reactions"]),
            "severity": _text(form, names["severity"]),
        }
        out.append(("allergy", entry))
    if used(form, "aefi"):
        names = FIELD_NAMES["aefi"]
        serious = _text(form, names["serious"])
        dose = _measure(form, names["dose"])
        entry = {
            "type": "aefi",
            "date": date,
            "product": _text(form, names["product"]),
            "dose": dose,
            "vaccination_date": _text(form, names["vaccination_date"]),
            "category": _text(form, names["category"]),
            "serious": {"yes": True, "no": False}.get(serious, serious) if serious else None,
            "reactions": _choices(form, names["reactions"]),
            "outcome": _text(form, names["outcome"]),
        }
        out.append(("aefi", entry))
    return out


ALLERGY_REACTIONS = (
    "rash",
    "urticaria",
    "angioedema",
    "anaphylaxis",
    "breathing-difficulty",
    "vomiting",
    "diarrhoea",
    "other",
)
AEFI_REACTIONS = (
    "injection-site-reaction",
    "fever",
    "rash",
    "urticaria",
    "anaphylaxis",
    "seizure",
    "fainting",
    "vomiting",
    "diarrhoea",
    "breathing-difficulty",
    "other",
)


def context() -> dict[str, Any]:
    """What the clinical sections of visit.html choose from (and the tests that give each result)."""
    tests = catalogue().tests.values()
    return {
        "result_tests": {r: [t.key for t in tests if r in t.results] for r in catalogue().results},
        "allergens": tuple(ALLERGENS),
        "allergy_severities": ALLERGY_SEVERITIES,
        "allergy_reactions": ALLERGY_REACTIONS,
        "aefi_reactions": AEFI_REACTIONS,
        "aefi_categories": AEFI_CATEGORIES,
        "aefi_outcomes": AEFI_OUTCOMES,
    }
