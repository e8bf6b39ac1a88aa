"""The checks before saving at the application layer: a visit they warn about writes nothing until it is
confirmed with a reason, which the sealed record keeps; what a recorder without the history is warned about."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from haven.app import App
from haven.core.card import Card
from haven.errors import ChecksNeedConfirmationError, EntryError
from haven.site.roles import Role
from haven.site.site import UnlockedSite
from tests.helpers_site import ADMIN, CLINICIAN, WRONG, new_site

TODAY = dt.date(2026, 11, 30)
DOSE_1 = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
DOSE_2_EARLY = [{"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-07"}]
MR_PREGNANT = {
    "holder": {"sex": "male", "pregnant": True},
    "entries": [{"type": "vaccination", "product": "mr", "dose": 1, "date": "2026-11-02"}],
}


def tables(session: UnlockedSite) -> dict[str, list[object]]:
    return {t.name: sorted(map(repr, t.rows)) for t in session.store.tables()}


def app_of(session: UnlockedSite) -> App:
    return App(session, today=lambda: TODAY)


def test_an_unconfirmed_visit_with_warnings_writes_nothing_and_a_confirmed_one_keeps_the_reason(
    tmp_path: Path,
) -> None:
    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(CLINICIAN) as session:
        app = app_of(session)
        app.visits.add(card, DOSE_1, first_visit=True)
        before = tables(session)
        with pytest.raises(ChecksNeedConfirmationError) as refused:
            app.visits.add(card, DOSE_2_EARLY)
        assert tables(session) == before  # no record, no tally, no audit entry
        (warning,) = refused.value.details["warnings"]
        assert warning == {
            "code": "interval-too-short",
            "field": "entries[0].date",
            "details": {"product": "comirnaty", "dose": 2, "earliest": "2026-10-22"},
        }
        assert "entries[0].date: dose 2 of Comirnaty" in refused.value.message
        with pytest.raises(EntryError):  # an empty reason confirms nothing
            app.visits.add(card, DOSE_2_EARLY, confirm="  ")
        assert tables(session) == before
        app.visits.add(card, DOSE_2_EARLY, confirm="holder travels tomorrow")
        visit = app.visits.history(card).to_doc()["visits"][1]
        assert visit["confirmed"] == {"reason": "holder travels tomorrow", "warnings": ["interval-too-short"]}


def test_a_visit_without_warnings_keeps_no_confirmation(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(CLINICIAN) as session:
        app = app_of(session)
        app.visits.add(card, DOSE_1, first_visit=True, confirm="not needed")
        assert "confirmed" not in app.visits.history(card).to_doc()["visits"][0]


def test_live_vaccine_and_male_pregnant_both_warn_on_a_first_visit(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(CLINICIAN) as session:
        app = app_of(session)
        with pytest.raises(ChecksNeedConfirmationError) as refused:
            app.visits.add(Card(bytes(range(16))), MR_PREGNANT, first_visit=True)
        assert [w["code"] for w in refused.value.warnings] == ["sex-and-pregnancy", "live-in-pregnancy"]


def test_a_registrar_is_warned_from_the_doses_due_but_not_from_the_history_facts(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(ADMIN) as admin:
        admin.add_staff("Reg", Role.REGISTRAR, WRONG)
    with site.unlock(CLINICIAN) as session:
        app_of(session).visits.add(card, {"holder": {"pregnant": True}, "entries": DOSE_1}, first_visit=True)
    with site.unlock(WRONG) as registrar:
        app = app_of(registrar)
        with pytest.raises(ChecksNeedConfirmationError) as refused:
            app.visits.add(card, DOSE_2_EARLY)
        assert [w["code"] for w in refused.value.warnings] == ["interval-too-short"]
        # The history says pregnant; a registrar may not read it, so MR is not refused on its account.
        app.visits.add(card, [{"type": "vaccination", "product": "mr", "dose": 1, "date": "2026-11-02"}])
    with site.unlock(CLINICIAN) as session:
        app = app_of(session)
        with pytest.raises(ChecksNeedConfirmationError) as refused:
            app.visits.add(card, [{"type": "vaccination", "product": "mmr", "dose": 2, "date": "2026-11-30"}])
        assert [w["code"] for w in refused.value.warnings] == ["live-in-pregnancy"]


def test_a_confirmation_stays_with_its_visit_once_an_entry_of_it_is_corrected(tmp_path: Path) -> None:
    from haven.core.history import entry_id

    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(CLINICIAN) as session:
        app = app_of(session)
        app.visits.add(card, DOSE_1, first_visit=True)
        app.visits.add(card, [*DOSE_2_EARLY, {"type": "note", "date": "2026-10-07", "text": "x"}], confirm="travels")
        second = app.visits.history(card).visits[1]
        app.visits.void(card, entry_id(second, 1), "typed by mistake")
        history = app.visits.history(card)
        assert [e.type for e in history.visits[1].visit.entries] == ["vaccination"]  # the note is voided
        assert history.visits[1].visit.confirmed == history.recorded[1].visit.confirmed is not None
        assert history.to_doc()["visits"][1]["confirmed"] == {"reason": "travels", "warnings": ["interval-too-short"]}
