"""Visit documents: every field validated, every error naming the field and the reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from haven.core.entries import Note, Test, Treatment, Vaccination, parse_visit, visit_problems, visit_to_doc
from haven.errors import EntryError
from tests.helpers_clock import TODAY


def test_the_minimal_document_from_the_docs() -> None:
    visit = parse_visit(
        [
            {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"},
            {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-02"},
        ],
        TODAY,
    )
    assert visit.entries == (
        Vaccination("comirnaty", 1, dt.date(2026, 10, 1)),
        Test("antigen", "negative", dt.date(2026, 11, 2)),
    )


def test_full_document_round_trips() -> None:
    doc = {
        "holder": {"birth_year": 1975, "sex": "male", "pregnant": False},
        "entries": [
            {"type": "vaccination", "product": "td", "dose": 2, "date": "2026-11-01", "lot": "A12", "note": "left arm"},
            {"type": "test", "test": "pcr", "result": "positive", "date": "2026-11-02", "sample": "nasopharyngeal"},
            {
                "type": "consultation",
                "date": "2026-11-02",
                "symptoms": ["fever", "cough"],
                "severity": "moderate",
                "medicines": ["paracetamol 500 mg"],
                "referral": "district hospital",
                "note": "oxygen saturation 93%",
            },
            {"type": "note", "date": "2026-11-02", "text": "came with a relative"},
        ],
    }
    visit = parse_visit(doc, TODAY)
    assert isinstance(visit.entries[2], Treatment) and visit.entries[2].kind == "consultation"
    assert isinstance(visit.entries[3], Note)
    assert visit_to_doc(visit) == doc
    assert parse_visit(visit_to_doc(visit), TODAY) == visit


def entry(**fields: Any) -> list[dict[str, Any]]:
    base = {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}
    base.update(fields)
    return [{k: v for k, v in base.items() if v is not None}]


@pytest.mark.parametrize(
    ("doc", "field", "reason"),
    [
        ({}, "entries", "is required"),
        ([], "entries", "at least one"),
        ("x", "entries", "must be a list"),
        (["x"], "entries[0]", "must be an object"),
        ([{"type": "x-ray", "date": "2026-10-01"}], "entries[0].type", "must be one of"),
        (entry(product="sputnik"), "entries[0].product", "must be one of"),
        (entry(product=None), "entries[0].product", "is required"),
        (entry(dose=0), "entries[0].dose", "between 1 and"),
        (entry(dose="1"), "entries[0].dose", "whole number"),
        (entry(dose=True), "entries[0].dose", "whole number"),
        (entry(date="01/10/2026"), "entries[0].date", "YYYY-MM-DD"),
        (entry(date="2026-02-30"), "entries[0].date", "is no day of the calendar"),
        (entry(date="2027-01-01"), "entries[0].date", "future"),
        (entry(date="1850-01-01"), "entries[0].date", "before 1900"),
        (entry(lot="x" * 41), "entries[0].lot", "at most 40"),
        (entry(name="Kim"), "entries[0].name", "not a known field"),
        (entry(verified_external="eu-dcc"), "entries[0].verified_external", "importing a verified certificate"),
        ([{"type": "test", "test": "antigen", "result": "maybe", "date": "2026-10-01"}], "entries[0].result", "one of"),
        ([{"type": "treatment", "date": "2026-10-01", "severity": "bad"}], "entries[0].severity", "one of"),
        ([{"type": "treatment", "date": "2026-10-01", "symptoms": "fever"}], "entries[0].symptoms", "a list"),
        ([{"type": "treatment", "date": "2026-10-01", "symptoms": ["itchy"]}], "entries[0].symptoms[0]", "one of"),
        ([{"type": "note", "date": "2026-10-01"}], "entries[0].text", "is required"),
        ({"entries": entry(), "holder": {"name": "Kim"}}, "holder.name", "not a known field"),
        ({"entries": entry(), "holder": {"birth_year": 2030}}, "holder.birth_year", "between"),
        ({"entries": entry(), "holder": {"birth_year": 1990, "age_band": "30-39"}}, "holder.age_band", "not both"),
        ({"entries": entry(), "holder": {"pregnant": "yes"}}, "holder.pregnant", "true or false"),
        ({"entries": entry(), "patient": {}}, "patient", "not a known field"),
    ],
)
def test_errors_name_field_and_reason(doc: Any, field: str, reason: str) -> None:
    with pytest.raises(EntryError) as err:
        parse_visit(doc, TODAY)
    assert err.value.field == field
    assert reason in err.value.reason
    assert err.value.message.startswith(field + ":")
    first = visit_problems(doc, TODAY)[0]  # the form's list of every problem starts with the same one
    assert (first.field, first.reason) == (err.value.field, err.value.reason)


def test_every_problem_of_a_visit_at_once() -> None:
    doc = {
        "entries": [
            {"type": "vaccination", "product": "td", "date": "2099-01-01", "lot": "x" * 41},
            {"type": "test", "test": "pcr", "date": "2026-10-01", "colour": "red"},
            {"type": "note", "date": "2026-10-01", "text": "x" * 2001},
        ],
        "holder": {"birth_year": 1800, "pregnant": "yes"},
    }
    found = [(p.field, p.reason.split(" (")[0]) for p in visit_problems(doc, TODAY)]
    assert found == [
        ("entries[0].dose", "is required"),
        ("entries[0].date", "is in the future"),
        ("entries[0].lot", "must be at most 40 characters"),
        ("entries[1].result", "is required"),
        ("entries[1].colour", "is not a known field"),
        ("entries[2].text", "must be at most 2000 characters"),  # refused for its length, not also "required"
        ("holder.birth_year", "must be between 1900 and 2026"),
        ("holder.pregnant", "must be true or false"),
    ]
    assert visit_problems({"entries": entry()}, TODAY) == []


def test_there_is_no_field_for_identity() -> None:
    for name in ("name", "given_name", "family_name", "id_number", "passport", "phone", "photo", "fingerprint",
                 "birth_date", "birthDate", "address"):  # fmt: skip
        with pytest.raises(EntryError, match="not a known field"):
            parse_visit({"entries": entry(), "holder": {name: "x"}}, TODAY)


def test_trusted_import_may_mark_external_entries() -> None:
    visit = parse_visit(entry(verified_external="eu-dcc"), TODAY, trusted=True)
    assert isinstance(visit.entries[0], Vaccination)
    assert visit.entries[0].verified_external == "eu-dcc"


def test_age_band_from_birth_year() -> None:
    visit = parse_visit({"holder": {"birth_year": 1996}, "entries": entry()}, TODAY)
    assert visit.holder.band_on(dt.date(2026, 10, 1)) == "30-39"
    assert visit.holder.band_on(dt.date(2025, 10, 1)) == "18-29"


# Every other form ISO 8601 (and Python 3.11's date.fromisoformat) has for 2026-10-01, and near misses.
OTHER_DATE_FORMS = [
    "2026-W40-4",  # week date: fromisoformat reads it as 2026-10-01
    "2026W404",  # week date, basic
    "2026-W40",  # week without a day: fromisoformat reads it as its Monday
    "2026W40",
    "20261001",  # calendar date, basic
    "2026-274",  # ordinal date
    "2026274",
    "2026-10",  # reduced precision
    "2026",
    "+2026-10-01",  # expanded year
    "02026-10-01",
    "2026-10-01T00:00",  # a date and time
    "2026-10-01T00:00:00Z",
    "2026-10-01 ",
    " 2026-10-01",
    "2026-10-01\n",
    "2026-1-01",
    "2026-10-1",
    "2026/10/01",
    "２０２６-１０-０１",  # full-width digits
    "٢٠٢٦-١٠-٠١",  # Arabic-Indic digits
]


@pytest.mark.parametrize("text", OTHER_DATE_FORMS)
def test_only_yyyy_mm_dd_is_a_date(text: str) -> None:
    with pytest.raises(EntryError) as err:
        parse_visit(entry(date=text), TODAY)
    assert (err.value.field, err.value.reason) == ("entries[0].date", "must be a date written YYYY-MM-DD")
    assert parse_visit(entry(date="2026-10-01"), TODAY).entries[0].date == dt.date(2026, 10, 1)
