"""Correcting and voiding entries through the application: who may, what is audited, and the corrected
facts everywhere a history is read (doses due, certificates, FHIR, counters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.app import App
from haven.core.card import Card
from haven.core.history import entry_id
from haven.errors import EntryError, NoRecordsError, PermissionDeniedError
from haven.site.roles import Role
from haven.site.site import Site, UnlockedSite
from tests.helpers_site import ADMIN, WRONG, new_site

DOSE1 = {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FJ8529"}
DOSE2 = {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-25"}
CARD = Card(bytes(range(16)))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        App(session).visits.add(CARD, [DOSE1], first_visit=True)
        App(session).visits.add(CARD, [DOSE2])
    return site


def ids(session: UnlockedSite) -> list[str]:
    return [entry_id(v, 0) for v in session.clinic().history(CARD).visits]


def stored(session: UnlockedSite) -> tuple[int, int, list[str]]:
    return len(list(session.store.records())), len(session.store.tallies()), [e.action for e, _ in session.audit.rows()]


def test_an_amend_is_audited_and_shows_with_the_original(site: Site) -> None:
    with site.unlock(ADMIN) as session:
        app = App(session)
        first = ids(session)[0]
        done = app.visits.correct(CARD, first, {**DOSE1, "lot": "FJ8530"}, "lot misread")
        assert done.to_doc() == {"entry": first, "kind": "amend", "index": 2, "stored": True}
        assert [e.action for e, _ in session.audit.rows()][-1] == "visit.correct"
        entry = app.visits.history(CARD).to_doc()["visits"][0]["entries"][0]
        assert entry["lot"] == "FJ8530" and entry["corrected"]["original"]["lot"] == "FJ8529"
        assert ids(session)[0] == first  # the entry keeps its id: it can be corrected again
        app.visits.correct(CARD, first, {**DOSE1, "lot": "FJ8531"})
        assert app.clinic().history(CARD).visits[0].visit.entries[0].lot == "FJ8531"  # type: ignore[union-attr]


def test_a_role_that_may_not_read_the_history_may_not_correct_it_and_nothing_is_written(site: Site) -> None:
    with site.unlock(ADMIN) as session:
        session.add_staff("Reg", Role.REGISTRAR, WRONG)
        first = ids(session)[0]
        before = stored(session)
    with site.unlock(WRONG) as registrar:
        with pytest.raises(PermissionDeniedError):
            App(registrar).visits.void(CARD, first, "not mine")
        with pytest.raises(PermissionDeniedError):
            App(registrar).visits.correct(CARD, first, DOSE1)
    with site.unlock(ADMIN) as session:
        assert stored(session) == before


def test_a_refused_correction_stores_nothing(site: Site) -> None:
    with site.unlock(ADMIN) as session:
        app = App(session)
        first = ids(session)[0]
        before = stored(session)
        with pytest.raises(EntryError, match=r"replacement\.dose"):
            app.visits.correct(CARD, first, {**DOSE1, "dose": 11})
        with pytest.raises(EntryError, match=r"replacement\.type"):
            app.visits.correct(CARD, first, {"type": "note", "text": "x", "date": "2026-10-01"})
        with pytest.raises(EntryError, match="reason: is required"):
            app.visits.void(CARD, first, "  ")
        with pytest.raises(EntryError, match="entry: names no entry"):
            app.visits.void(CARD, "7.abcdef01.0", "gone")
        with pytest.raises(NoRecordsError):
            app.visits.void(Card(bytes(16)), first, "another card")
        assert stored(session) == before
        app.visits.void(CARD, first, "recorded twice")
        with pytest.raises(EntryError, match="entry: is voided already"):
            app.visits.void(CARD, first, "again")


def test_a_voided_dose_no_longer_counts_for_the_doses_due(site: Site) -> None:
    with site.unlock(ADMIN) as session:
        app = App(session)
        assert [d.dose for d in app.visits.next_due(CARD)] != [2]
        app.visits.void(CARD, ids(session)[1], "given to someone else")
        assert [(d.product, d.dose) for d in app.visits.next_due(CARD)] == [("comirnaty", 2)]
        shown = app.visits.history(CARD).to_doc()["visits"][1]["entries"][0]
        assert shown["dose"] == 2 and shown["voided"]["reason"] == "given to someone else"


def test_a_certificate_issued_after_an_amend_states_the_corrected_facts(site: Site) -> None:
    with site.unlock(ADMIN) as session:
        app = App(session)
        app.trust.standalone()
        app.visits.correct(CARD, ids(session)[1], {**DOSE2, "date": "2026-10-29"}, "date misread")
        (text,) = app.certificates.issue(CARD)
        facts = app.certificates.verify(text).facts
        assert [(v.dose, v.date.isoformat()) for v in facts.vaccinations] == [(1, "2026-10-01"), (2, "2026-10-29")]
        app.visits.void(CARD, ids(session)[0], "not given here")
        assert [key for key, _ in app.certificates.choices(CARD)] == [ids(session)[1]]


def test_the_fhir_export_states_the_corrected_facts(site: Site) -> None:
    with site.unlock(ADMIN) as session:
        app = App(session)
        app.visits.correct(CARD, ids(session)[0], {**DOSE1, "lot": "FJ8530"})
        app.visits.void(CARD, ids(session)[1], "wrong card")
        _, bundle = app.export.fhir(CARD)
        immunizations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Immunization"]
        assert [i.get("lotNumber") for i in immunizations] == ["FJ8530"]


def test_the_counters_follow_a_correction(site: Site) -> None:
    """A void takes one from the entry's cell; an amend moves it to the corrected one."""
    with site.unlock(ADMIN) as session:
        app = App(session)

        def doses() -> dict[int, int]:
            return {key.detail: n for key, n in session.counts().totals.items() if n}

        assert doses() == {1: 1, 2: 1}
        app.visits.correct(CARD, ids(session)[1], {**DOSE2, "dose": 3}, "dose misread")
        assert doses() == {1: 1, 3: 1}
        app.visits.void(CARD, ids(session)[1], "given to someone else")
        assert doses() == {1: 1}
        app.visits.correct(CARD, ids(session)[0], {**DOSE1, "lot": "FJ8530"})  # the same cell: no change
        assert doses() == {1: 1}
