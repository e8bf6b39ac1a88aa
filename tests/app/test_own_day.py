"""Each member's own count of today's work: one fixed-size row that only their own passphrase opens, updated in
the same transaction as the work it counts (haven/site/daycount.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from haven.app import App
from haven.core.card import Card
from haven.core.history import entry_id
from haven.errors import PermissionDeniedError, SiteError, StoreFullError
from haven.site import daycount
from haven.site.audit import AuditLog
from haven.site.rolekeys import unwrap
from haven.site.roles import Role
from haven.site.site import Site
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, CLINICIAN, WRONG, new_site

TODAY = NOW.date().isoformat()
VAX = {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": TODAY}
TEST = {"type": "test", "test": "antigen", "result": "negative", "date": TODAY}  # no schedule to check
REGISTRAR = "velvet orbit lunar cactus dwarf"
SECOND_CLINICIAN = "quantum maple ivory thunder salad"


def staff_site(tmp_path: Path, **kwargs: Any) -> Site:
    site = new_site(tmp_path / "s", now=lambda: NOW, **kwargs)
    with site.unlock(ADMIN) as ana:
        ana.add_staff("Reg", Role.REGISTRAR, REGISTRAR)
        ana.add_staff("Jo", Role.CLINICIAN, SECOND_CLINICIAN)
    return site


def test_each_member_sees_their_own_day_and_nobody_elses(tmp_path: Path) -> None:
    site = staff_site(tmp_path)
    with site.unlock(CLINICIAN) as min_:
        app = App(min_)
        app.visits.add(Card(bytes([1]) * 16), [VAX], first_visit=True)
        app.visits.add(Card(bytes([2]) * 16), [VAX], first_visit=True)
        assert app.day_work.mine().own == {"visit.add": 2}
        with pytest.raises(PermissionDeniedError):  # a clinician still cannot read the site's day
            app.day_work.today()
    with site.unlock(CLINICIAN) as min_:  # kept: another session of the same member reads it
        mine = App(min_).day_work.mine()
        assert mine.day == NOW.date() and mine.own == {"visit.add": 2}
    with site.unlock(REGISTRAR) as reg:
        app = App(reg)
        assert app.day_work.mine().own == {}
        app.visits.add(Card(bytes([3]) * 16), [VAX], first_visit=True)
        assert app.day_work.mine().own == {"visit.add": 1}
    with site.unlock(SECOND_CLINICIAN) as jo:
        assert App(jo).day_work.mine().own == {}
    with site.unlock(ADMIN) as ana:  # the coordinator's view from the audit agrees
        assert App(ana).day_work.today().site == {"visit.add": 3}


def test_corrections_and_certificates_count_and_a_new_day_starts_from_zero(tmp_path: Path) -> None:
    clock = {"now": NOW}
    site = new_site(tmp_path / "s", now=lambda: clock["now"])
    card = Card(bytes([4]) * 16)
    with site.unlock(ADMIN) as ana:
        app = App(ana)
        app.trust.standalone()
        app.visits.add(card, [VAX], first_visit=True)
        first = entry_id(app.clinic().history(card).visits[0], 0)
        app.visits.correct(card, first, {**VAX, "dose": 2})
        app.certificates.issue(card, count=3)
        assert app.day_work.mine().own == {"visit.add": 1, "visit.correct": 1, "certificate.issue": 3}
        clock["now"] = NOW + dt.timedelta(days=1)
        assert app.day_work.mine().own == {}
        app.visits.add(card, [{**TEST, "date": clock["now"].date().isoformat()}])
        assert app.day_work.mine().own == {"visit.add": 1}


def test_no_other_passphrase_opens_a_members_row_and_its_size_says_nothing(tmp_path: Path) -> None:
    site = staff_site(tmp_path)
    with site.unlock(CLINICIAN) as min_:
        App(min_).visits.add(Card(bytes([1]) * 16), [VAX], first_visit=True)
        me = min_.staff.id
        small = min_.store.get_setting(daycount.setting(me))
        daycount.add(min_.store, me, min_.own_count_key, "visit.import", 4_000_000_000, NOW, min_.site.random_bytes)
        large = min_.store.get_setting(daycount.setting(me))
    assert small is not None and large is not None and len(small) == len(large) == daycount.PLAIN_BYTES + 28
    for passphrase in (ADMIN, REGISTRAR, SECOND_CLINICIAN):
        with site.unlock(passphrase) as other:
            blob = other.store.get_setting(daycount.setting(me))
            assert blob == large  # a seized site with this passphrase has the row, and nothing that opens it
            keys = [other.own_count_key, other.keys.admin, other.keys.issuing, other._master_key]
            for key in (k for k in keys if k):
                with pytest.raises(SiteError):
                    unwrap(key, daycount.setting(me), blob)
            assert daycount.today(other.store, me, other.own_count_key, NOW) == {}


def test_refused_work_is_not_counted(tmp_path: Path, monkeypatch: Any) -> None:
    site = staff_site(tmp_path)
    card = Card(bytes([5]) * 16)
    with site.unlock(REGISTRAR) as reg:
        app = App(reg)
        app.visits.add(card, [VAX], first_visit=True)
        with pytest.raises(PermissionDeniedError):  # a registrar may not correct
            app.visits.correct(card, "0" * 32, VAX)
        with pytest.raises(PermissionDeniedError):
            app.certificates.issue(card)

        def full(*args: object) -> None:
            raise StoreFullError("The disk is full.")

        monkeypatch.setattr(AuditLog, "append", full)  # the audit entry cannot be written: nothing is
        with pytest.raises(StoreFullError):
            app.visits.add(card, [TEST])
        monkeypatch.undo()
        store_put = reg.store.put_setting

        def own_row_full(name: str, value: bytes) -> None:
            if name.startswith(daycount.PREFIX):
                raise StoreFullError("The disk is full.")
            store_put(name, value)

        monkeypatch.setattr(reg.store, "put_setting", own_row_full)  # the count cannot be written: nor the visit
        with pytest.raises(StoreFullError):
            app.visits.add(card, [TEST])
        monkeypatch.undo()
        assert app.day_work.mine().own == {"visit.add": 1}
    with site.unlock(ADMIN) as ana:
        assert len(App(ana).visits.history(card).visits) == 1


def test_removing_a_member_or_resetting_their_passphrase_deletes_their_row(tmp_path: Path) -> None:
    site = staff_site(tmp_path)
    with site.unlock(REGISTRAR) as reg:
        App(reg).visits.add(Card(bytes([6]) * 16), [VAX], first_visit=True)
        reg_id = reg.staff.id
    with site.unlock(SECOND_CLINICIAN) as jo:
        App(jo).visits.add(Card(bytes([7]) * 16), [VAX], first_visit=True)
        jo_id = jo.staff.id
    with site.unlock(ADMIN) as ana:
        app = App(ana)
        app.staff.remove("Reg")
        assert ana.store.get_setting(daycount.setting(reg_id)) is None
        app.staff.change_passphrase(WRONG, name="Jo")
        assert ana.store.get_setting(daycount.setting(jo_id)) is None
    with site.unlock(WRONG) as jo:
        app = App(jo)
        assert app.day_work.mine().own == {}
        app.visits.add(Card(bytes([8]) * 16), [VAX], first_visit=True)
        assert app.day_work.mine().own == {"visit.add": 1}
