"""The clinical entry types (vital signs, weight, allergy, AEFI) and tests with their own results."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from haven.core.aggregates import KIND_AEFI, AggregateKey, aggregate_keys, describe
from haven.core.entries import (
    AEFI_CATEGORIES,
    AEFI_OUTCOMES,
    ALLERGENS,
    ALLERGY_SEVERITIES,
    REACTIONS,
    Aefi,
    Allergy,
    HolderFacts,
    Visit,
    Vitals,
    Weight,
    parse_visit,
    visit_problems,
    visit_to_doc,
)
from haven.errors import EntryError
from tests.helpers_clock import TODAY

DAY = "2026-11-20"
FULL = [
    {
        "type": "vitals",
        "date": DAY,
        "temperature_c": 38.4,
        "pulse_per_min": 110,
        "respiratory_rate_per_min": 24,
        "systolic_mmhg": 118,
        "diastolic_mmhg": 76,
        "spo2_percent": 95,
        "note": "after a walk",
    },
    {"type": "weight", "date": DAY, "weight_kg": 8.45, "height_cm": 72.5, "muac_mm": 121},
    {"type": "allergy", "date": DAY, "substance": "penicillin", "reactions": ["urticaria"], "severity": "moderate"},
    {"type": "allergy", "date": DAY, "substance_text": "chlorhexidine"},
    {
        "type": "aefi",
        "date": DAY,
        "product": "penta",
        "dose": 1,
        "vaccination_date": "2026-11-19",
        "category": "product-related",
        "serious": False,
        "reactions": ["fever", "injection-site-reaction"],
        "outcome": "recovered",
    },
]


def test_every_new_entry_type_reads_and_round_trips() -> None:
    visit = parse_visit(FULL, TODAY)
    vitals, weight, allergy, words, aefi = visit.entries
    assert vitals == Vitals(dt.date(2026, 11, 20), 38.4, 110, 24, 118, 76, 95, "after a walk")
    assert weight == Weight(dt.date(2026, 11, 20), 8.45, 72.5, 121)
    assert allergy == Allergy(dt.date(2026, 11, 20), "penicillin", None, ("urticaria",), "moderate")
    assert words.substance_text == "chlorhexidine"
    assert aefi == Aefi(
        dt.date(2026, 11, 20),
        "penta",
        1,
        dt.date(2026, 11, 19),
        False,
        "product-related",
        ("fever", "injection-site-reaction"),
        "recovered",
    )
    assert parse_visit(visit_to_doc(visit), TODAY, trusted=True) == visit


def test_a_whole_number_is_a_temperature_too() -> None:
    (vitals,) = parse_visit([{"type": "vitals", "date": DAY, "temperature_c": 37}], TODAY).entries
    assert isinstance(vitals, Vitals) and vitals.temperature_c == 37.0


def one(**fields: Any) -> list[dict[str, Any]]:
    return [{"date": DAY, **fields}]


@pytest.mark.parametrize(
    ("doc", "field", "reason"),
    [
        (one(type="vitals"), "temperature_c", "give at least one of: temperature_c, pulse_per_min"),
        (one(type="vitals", temperature_c=51.0), "temperature_c", "must be between 30 and 45"),
        (one(type="vitals", temperature_c=37.25), "temperature_c", "must have at most 1 decimals"),
        (one(type="vitals", temperature_c="37.5"), "temperature_c", "must be a number"),
        (one(type="vitals", temperature_c=True), "temperature_c", "must be a number"),
        (one(type="vitals", pulse_per_min=72.5), "pulse_per_min", "must be a whole number"),
        (one(type="vitals", spo2_percent=101), "spo2_percent", "must be between 50 and 100"),
        (one(type="vitals", systolic_mmhg=120), "systolic_mmhg", "needs diastolic_mmhg as well"),
        (one(type="vitals", diastolic_mmhg=80), "diastolic_mmhg", "needs systolic_mmhg as well"),
        (one(type="vitals", systolic_mmhg=80, diastolic_mmhg=90), "diastolic_mmhg", "lower than the systolic"),
        (one(type="vitals", pulse_per_min=70, blood_group="A"), "blood_group", "not a known field"),
        (one(type="weight"), "weight_kg", "give at least one of: weight_kg, height_cm, muac_mm"),
        (one(type="weight", weight_kg=0.1), "weight_kg", "must be between 0.3 and 350"),
        (one(type="weight", weight_kg=3.255), "weight_kg", "must have at most 2 decimals"),
        (one(type="weight", muac_mm=11.5), "muac_mm", "must be a whole number"),
        (one(type="allergy"), "substance", "is required"),
        (one(type="allergy", substance="pollen"), "substance", "must be one of: egg, latex, nsaid"),
        (one(type="allergy", substance="egg", substance_text="eggs"), "substance_text", "not both"),
        (one(type="allergy", substance="egg", severity="fatal"), "severity", "must be one of: mild, moderate, severe"),
        (one(type="allergy", substance="egg", reactions=["sneezing"]), "reactions[0]", "must be one of"),
        (one(type="aefi"), "product", "is required"),
        (
            one(type="aefi", product="penta", dose=1, vaccination_date="2026-11-21", serious=True),
            "vaccination_date",
            "must not be after the entry's date (2026-11-20)",
        ),
        (
            one(type="aefi", product="penta", dose=1, vaccination_date=DAY, serious="yes"),
            "serious",
            "must be true or false",
        ),
        (one(type="aefi", product="penta", dose=1, vaccination_date=DAY), "serious", "is required"),
        (
            one(type="aefi", product="penta", dose=1, vaccination_date=DAY, serious=False, category="unknown"),
            "category",
            "must be one of: anxiety-related, coincidental, immunization-error, product-related, quality-defect",
        ),
        (
            one(type="aefi", product="penta", dose=1, vaccination_date=DAY, serious=False, outcome="fine"),
            "outcome",
            "must be one of",
        ),
        (one(type="test", test="hiv-rdt", result="positive"), "result", "must be one of: invalid, non-reactive"),
        (one(type="test", test="malaria-rdt", result="reactive"), "result", "malaria-non-pf, malaria-pf, negative"),
        (one(type="test", test="antigen", result="mtb-rif-detected"), "result", "invalid, negative, positive"),
    ],
)
def test_errors_name_the_field_and_the_reason(doc: Any, field: str, reason: str) -> None:
    with pytest.raises(EntryError) as err:
        parse_visit(doc, TODAY)
    assert err.value.field == f"entries[0].{field}"
    assert reason in err.value.reason


def test_every_problem_of_an_aefi_at_once() -> None:
    doc = one(type="aefi", product="nope", dose=0, vaccination_date="2026-13-01", category="x")
    fields = [p.field for p in visit_problems(doc, TODAY)]
    assert fields == [
        "entries[0].product",
        "entries[0].dose",
        "entries[0].vaccination_date",
        "entries[0].serious",
        "entries[0].category",
    ]


def test_no_new_field_identifies_anyone() -> None:
    for kind, base in (
        ("vitals", {"pulse_per_min": 70}),
        ("weight", {"weight_kg": 60}),
        ("allergy", {"substance": "egg"}),
        ("aefi", {"product": "td", "dose": 1, "vaccination_date": DAY, "serious": False}),
    ):
        for name in ("name", "id_number", "birth_date", "phone", "reporter", "address", "age"):
            with pytest.raises(EntryError, match="not a known field"):
                parse_visit(one(type=kind, **base, **{name: "x"}), TODAY)


def test_an_aefi_counts_by_product_and_category_in_the_age_band() -> None:
    visit = Visit(tuple(parse_visit(FULL, TODAY).entries), HolderFacts(age_band="0-4"))
    keys = aggregate_keys(visit)
    assert keys == [AggregateKey(202647, KIND_AEFI, 18, 1, 1)]  # vitals, weight and allergies are not counted
    assert describe(keys[0]) == {
        "week": "2026-W47",
        "kind": "aefi",
        "age_band": "0-4",
        "product": "penta",
        "category": "product-related",
    }
    unclassified = parse_visit(one(type="aefi", product="bcg", dose=1, vaccination_date=DAY, serious=True), TODAY)
    (key,) = aggregate_keys(unclassified)
    assert (key.code, key.detail, describe(key)["category"]) == (17, 0, "unclassified")


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_new_field_and_value_is_documented() -> None:
    text = (DOCS / "entries.md").read_text("utf-8")
    for cls in (Vitals, Weight, Allergy, Aefi):
        for name in (f.name for f in dataclasses.fields(cls)):
            assert f"`{name}`" in text, f"{cls.__name__}.{name} is not in docs/entries.md"
    for value in (*ALLERGENS, *REACTIONS, *AEFI_CATEGORIES, *AEFI_OUTCOMES, *ALLERGY_SEVERITIES):
        assert f"`{value}`" in text, f"{value!r} is not in docs/entries.md"


def test_every_example_of_the_entries_document_is_valid() -> None:
    text = (DOCS / "entries.md").read_text("utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        parse_visit(json.loads(block), TODAY)
