"""The checks before saving: one test per rule, and what each kind of staff member's checks know."""

from __future__ import annotations

import datetime as dt

import pytest

from haven.core.checks import (
    WARNINGS,
    CheckWarning,
    Prior,
    check_visit,
    confirm_reason,
    confirmed,
    describe,
    merged_facts,
)
from haven.core.entries import MAX_SHORT, Confirmation, HolderFacts, Vaccination, Visit, parse_visit, visit_to_doc
from haven.errors import ChecksNeedConfirmationError, EntryError

TODAY = dt.date(2026, 11, 30)
D1 = Vaccination("comirnaty", 1, dt.date(2026, 10, 1))
D2 = Vaccination("comirnaty", 2, dt.date(2026, 10, 29))


def vac(product: str, dose: int, day: dt.date, lot: str | None = None) -> Vaccination:
    return Vaccination(product, dose, day, lot=lot)


def codes(visit: Visit, prior: Prior | None = None, **kwargs: object) -> list[tuple[str, str]]:
    return [(w.code, w.field) for w in check_visit(visit, prior, **kwargs)]  # type: ignore[arg-type]


def prior(*given: Vaccination, facts: HolderFacts | None = None) -> Prior:
    return Prior.of_vaccinations(given, TODAY, facts)


def test_a_second_dose_six_days_after_the_first_warns_with_the_earliest_day() -> None:
    visit = Visit((vac("comirnaty", 2, dt.date(2026, 10, 7)),))
    (warning,) = check_visit(visit, prior(D1))
    assert (warning.code, warning.field) == ("interval-too-short", "entries[0].date")
    assert dict(warning.details) == {"product": "comirnaty", "dose": 2, "earliest": "2026-10-22"}
    # On the earliest day, or for another product of the same series (next dose follows the last's schedule).
    assert codes(Visit((vac("comirnaty", 2, dt.date(2026, 10, 22)),)), prior(D1)) == []
    assert codes(Visit((vac("spikevax", 2, dt.date(2026, 10, 15)),)), prior(D1)) == [
        ("interval-too-short", "entries[0].date")
    ]


def test_a_second_dose_one_after_dose_two_warns_that_it_is_already_given() -> None:
    (warning,) = check_visit(Visit((vac("comirnaty", 1, dt.date(2026, 11, 20)),)), prior(D1, D2))
    assert (warning.code, dict(warning.details)) == (
        "dose-already-given",
        {"product": "comirnaty", "dose": 1, "recorded": 2},
    )


def test_a_dose_that_skips_one_warns() -> None:
    (warning,) = check_visit(Visit((vac("hepb", 3, dt.date(2026, 11, 20)),)), prior(vac("hepb", 1, D1.date)))
    assert (warning.code, dict(warning.details)) == ("dose-skipped", {"product": "hepb", "dose": 3, "expected": 2})


def test_a_dose_beyond_a_series_without_booster_warns() -> None:
    assert codes(Visit((vac("mr", 3, dt.date(2026, 11, 20)),))) == [("beyond-series", "entries[0].dose")]
    assert codes(Visit((vac("comirnaty", 4, dt.date(2026, 11, 20)),))) == []  # a booster series goes on


def test_two_doses_in_one_visit_are_checked_against_each_other() -> None:
    day = dt.date(2026, 11, 20)
    visit = Visit((vac("ocv", 2, day), vac("ocv", 1, day)))
    assert codes(visit) == [("interval-too-short", "entries[0].date")]


def test_a_live_vaccine_for_a_pregnant_holder_warns_from_this_visit_or_the_history() -> None:
    mr = vac("mr", 1, dt.date(2026, 11, 20))
    assert codes(Visit((mr,), HolderFacts(pregnant=True))) == [("live-in-pregnancy", "entries[0].product")]
    assert codes(Visit((mr,)), prior(facts=HolderFacts(pregnant=True))) == [("live-in-pregnancy", "entries[0].product")]
    assert codes(Visit((mr,), HolderFacts(pregnant=False)), prior(facts=HolderFacts(pregnant=True))) == []
    assert codes(Visit((vac("td", 1, mr.date),), HolderFacts(pregnant=True))) == []  # not live


def test_male_and_pregnant_warns_once_this_visit_states_either() -> None:
    day = dt.date(2026, 11, 20)
    note = vac("td", 1, day)
    assert codes(Visit((note,), HolderFacts(sex="male", pregnant=True))) == [("sex-and-pregnancy", "holder.pregnant")]
    assert codes(Visit((note,), HolderFacts(pregnant=True)), prior(facts=HolderFacts(sex="male"))) == [
        ("sex-and-pregnancy", "holder.pregnant")
    ]
    # Confirmed once, an old contradiction is not asked about at every visit that says nothing of it.
    assert codes(Visit((note,)), prior(facts=HolderFacts(sex="male", pregnant=True))) == []
    assert codes(Visit((note,), HolderFacts(sex="female", pregnant=True))) == []


def test_a_pregnancy_in_a_child_age_band_warns() -> None:
    day = dt.date(2026, 11, 20)
    (warning,) = check_visit(Visit((vac("td", 1, day),), HolderFacts(birth_year=2022, pregnant=True)))
    assert (warning.code, dict(warning.details)) == ("age-and-pregnancy", {"band": "0-4"})
    assert codes(Visit((vac("td", 1, day),), HolderFacts(age_band="18-29", pregnant=True))) == []


def test_a_lot_not_in_the_register_warns_only_for_products_the_register_keeps() -> None:
    day = dt.date(2026, 11, 20)
    lots = {"td": frozenset({"T1"})}
    assert codes(Visit((vac("td", 1, day, lot="T2"),)), lots=lots) == [("lot-unknown", "entries[0].lot")]
    assert codes(Visit((vac("td", 1, day, lot="T1"),)), lots=lots) == []
    assert codes(Visit((vac("mr", 1, day, lot="M9"),)), lots=lots) == []


def test_what_a_recorder_without_the_history_is_checked_against_is_the_doses_due() -> None:
    history_prior = prior(D1, D2, facts=HolderFacts(pregnant=True))
    due_prior = Prior.of_due(history_prior.due.values())
    # The doses due say the last dose and the earliest day of the next: the same dose warnings.
    again = Visit((vac("comirnaty", 2, dt.date(2026, 11, 20)),))
    assert codes(again, due_prior) == codes(again, history_prior) == [("dose-already-given", "entries[0].dose")]
    # The history's holder facts are not among them: no pregnancy from the history.
    mr = Visit((vac("mr", 1, dt.date(2026, 11, 20)),))
    assert codes(mr, history_prior) == [("live-in-pregnancy", "entries[0].product")]
    assert codes(mr, due_prior) == []


def test_every_warning_has_an_english_sentence_from_its_details() -> None:
    warning = CheckWarning("interval-too-short", "entries[0].date", {"product": "mr", "dose": 2, "earliest": "x"})
    assert describe(warning).startswith("entries[0].date: dose 2 of Measles-rubella vaccine (MR) is given before x")
    assert set(WARNINGS) >= {"interval-too-short", "dose-already-given", "live-in-pregnancy", "sex-and-pregnancy"}


def test_a_visit_with_warnings_needs_a_reason_and_keeps_it_and_the_codes() -> None:
    visit = Visit((vac("mr", 1, dt.date(2026, 11, 20)),), HolderFacts(sex="male", pregnant=True))
    warnings = check_visit(visit)
    with pytest.raises(ChecksNeedConfirmationError) as refused:
        confirmed(visit, warnings, None)
    assert [w["code"] for w in refused.value.details["warnings"]] == ["sex-and-pregnancy", "live-in-pregnancy"]
    kept = confirmed(visit, warnings, "told by the holder; checked")
    assert kept.confirmed == Confirmation("told by the holder; checked", ("sex-and-pregnancy", "live-in-pregnancy"))
    assert confirmed(Visit((D1,)), [], None) == Visit((D1,))


def test_the_reason_is_one_to_max_short_characters() -> None:
    assert confirm_reason("  ok  ") == "ok" and confirm_reason(None) is None
    for bad, problem in (("   ", "required"), ("x" * (MAX_SHORT + 1), "too-long")):
        with pytest.raises(EntryError) as refused:
            confirm_reason(bad)
        assert (refused.value.field, refused.value.problem) == ("confirm", problem)


def test_a_confirmation_round_trips_in_the_record_document_and_is_never_typed_in() -> None:
    visit = Visit((D1,), confirmed=Confirmation("seen the card", ("interval-too-short",)))
    doc = visit_to_doc(visit)
    assert doc["confirmed"] == {"reason": "seen the card", "warnings": ["interval-too-short"]}
    assert parse_visit(doc, TODAY, trusted=True) == visit
    with pytest.raises(EntryError) as refused:
        parse_visit(doc, TODAY)
    assert (refused.value.field, refused.value.problem) == ("confirmed", "written-by-haven")


def test_merged_facts_let_this_visit_win_field_by_field() -> None:
    assert merged_facts(HolderFacts(birth_year=1990, sex="male"), HolderFacts(age_band="18-29")) == HolderFacts(
        age_band="18-29", sex="male"
    )
