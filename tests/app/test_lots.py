"""The lot register's use cases: who may manage and list it, expired lots refused with nothing written,
lots not in it warned about, and doses used per lot counted from the counters, never from records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from haven.app import App
from haven.core.card import Card
from haven.errors import ChecksNeedConfirmationError, ExpiredLotError, InputError, PermissionDeniedError
from haven.site.roles import Role
from haven.site.site import UnlockedSite
from tests.helpers_site import ADMIN, CLINICIAN, WRONG, new_site

TODAY = dt.date(2026, 11, 30)


def td(dose: int, day: str, lot: str) -> list[dict[str, object]]:
    return [{"type": "vaccination", "product": "td", "dose": dose, "date": day, "lot": lot}]


def tables(session: UnlockedSite) -> dict[str, list[str]]:
    return {t.name: sorted(map(repr, t.rows)) for t in session.store.tables()}


def test_coordinators_manage_lots_and_recording_roles_list_them_without_counts(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as admin:
        app = App(admin, today=lambda: TODAY)
        app.lots.add("td", "T1", "2027-01-31", 100)
        with pytest.raises(InputError):
            app.lots.add("td", " T1 ", "2027-05-31")  # the same lot twice
        admin.add_staff("Reg", Role.REGISTRAR, WRONG)
    with site.unlock(WRONG) as registrar:
        app = App(registrar, today=lambda: TODAY)
        with pytest.raises(PermissionDeniedError):
            app.lots.add("td", "T2", "2027-01-31")
        with pytest.raises(PermissionDeniedError):
            app.lots.retire("td", "T1")
        (line,) = app.lots.list()
        assert line.to_doc() == {
            "number": 1,
            "product": "td",
            "lot": "T1",
            "expiry": "2027-01-31",
            "received": 100,
            "retired": False,
            "status": "in-use",
        }


def test_an_expired_lot_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    card = Card(bytes(range(16)))
    with site.unlock(ADMIN) as admin:
        App(admin, today=lambda: TODAY).lots.add("td", "OLD", "2026-11-01")
    with site.unlock(CLINICIAN) as session:
        app = App(session, today=lambda: TODAY)
        app.visits.add(card, td(1, "2026-10-01", "OLD"), first_visit=True)  # before its expiry: fine
        before = tables(session)
        with pytest.raises(ExpiredLotError) as refused:
            app.visits.add(card, td(2, "2026-11-02", "OLD"), confirm="confirming does not help")
        assert refused.value.field == "entries[0].lot" and refused.value.code == "lot-expired"
        assert tables(session) == before


def test_a_lot_not_in_the_register_warns_and_doses_used_are_counted_per_lot(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    first, second = Card(bytes(range(16))), Card(bytes(range(1, 17)))
    with site.unlock(ADMIN) as admin:
        app = App(admin, today=lambda: TODAY)
        app.lots.add("td", "T1", "2027-01-31", 100)
        app.lots.add("td", "T2", "2027-01-31")
    with site.unlock(CLINICIAN) as session:
        app = App(session, today=lambda: TODAY)
        app.visits.add(first, td(1, "2026-10-01", "T1"), first_visit=True)
        app.visits.add(second, td(1, "2026-11-02", "T1"), first_visit=True)
        with pytest.raises(ChecksNeedConfirmationError) as refused:
            app.visits.add(first, td(2, "2026-11-02", "T9"))
        assert refused.value.warnings == [
            {"code": "lot-unknown", "field": "entries[0].lot", "details": {"product": "td", "lot": "T9"}}
        ]
        app.visits.add(first, td(2, "2026-11-02", "T2"))
        assert all(line.used is None for line in app.lots.list())  # a clinician reads no counters
    with site.unlock(ADMIN) as admin:
        app = App(admin, today=lambda: TODAY)
        app.lots.retire("td", "T2")
        assert [(x.lot.lot, x.status, x.used) for x in app.lots.list()] == [("T1", "in-use", 2), ("T2", "retired", 1)]
        with pytest.raises(ChecksNeedConfirmationError):  # a retired lot is no longer offered: it warns
            app.visits.add(second, td(2, "2026-11-30", "T2"))
