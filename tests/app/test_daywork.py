"""The day's work: today's visits and certificates for the site and for the member reading (from the audit),
this week's breakdown by product and dose or test and result (from the counters); no holder in any of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from haven.app import App
from haven.core.card import Card
from haven.errors import PermissionDeniedError
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, CLINICIAN, new_site

TODAY = NOW.date().isoformat()
VAX = {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": TODAY}
TEST = {"type": "test", "test": "antigen", "result": "negative", "date": TODAY}


def test_today_counts_the_site_and_the_reader_and_breaks_the_week_down(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", now=lambda: NOW)
    cards = [Card(bytes([n]) * 16) for n in range(3)]
    with site.unlock(CLINICIAN) as min_:
        app = App(min_)
        app.visits.add(cards[0], [VAX, TEST], first_visit=True)
        app.visits.add(cards[1], [VAX], first_visit=True)
    with site.unlock(ADMIN) as ana:
        app = App(ana)
        app.visits.add(cards[2], [TEST], first_visit=True)
        app.trust.standalone()
        app.certificates.issue(cards[0], count=3)
        day = app.day_work.today()
    assert day.day == NOW.date()
    assert day.site == {"visit.add": 3, "certificate.issue": 3}
    assert day.own == {"visit.add": 1, "certificate.issue": 3}  # Ana's own: one visit, one sheet of three
    rows = {(r.kind, r.what, r.detail): r.count for r in day.rows}
    assert rows == {("vaccination", "comirnaty", "2"): 2, ("test", "antigen", "negative"): 2}
    # Counts only: no field could hold a holder, a record or a time finer than the day.
    fields = {f.name for f in dataclasses.fields(day)} | {f.name for f in dataclasses.fields(day.rows[0])}
    assert fields == {"day", "site", "own", "week", "rows", "unreadable", "kind", "what", "detail", "count"}


def test_yesterdays_entries_are_not_today(tmp_path: Path) -> None:
    import datetime as dt

    clock = {"now": NOW - dt.timedelta(days=1)}
    site = new_site(tmp_path / "s", now=lambda: clock["now"])
    with site.unlock(ADMIN) as ana:
        App(ana).visits.add(Card(bytes(16)), [{**VAX, "date": clock["now"].date().isoformat()}], first_visit=True)
    clock["now"] = NOW
    with site.unlock(ADMIN) as ana:
        day = App(ana).day_work.today()
    assert day.site == {} and day.own == {}


def test_only_coordinators_see_the_day(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", now=lambda: NOW)
    with site.unlock(CLINICIAN) as min_, pytest.raises(PermissionDeniedError):
        App(min_).day_work.today()


def test_the_week_breaks_down_adverse_events_and_leaves_out_doses_per_lot(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", now=lambda: NOW)
    aefi = {"type": "aefi", "product": "comirnaty", "dose": 2, "vaccination_date": TODAY, "date": TODAY}
    aefi |= {"serious": False, "category": "coincidental"}
    with site.unlock(ADMIN) as ana:
        app = App(ana)
        app.lots.add("comirnaty", "FK1234", "2099-01-31", 100)
        app.visits.add(Card(bytes([1]) * 16), [{**VAX, "dose": 1, "lot": "FK1234"}], first_visit=True)
        app.visits.add(
            Card(bytes([2]) * 16), [{**aefi, "serious": False, "category": "coincidental"}], first_visit=True
        )
        day = app.day_work.today()
    rows = {(r.kind, r.what, r.detail): r.count for r in day.rows}
    assert rows == {("vaccination", "comirnaty", "1"): 1, ("aefi", "comirnaty", "coincidental"): 1}
