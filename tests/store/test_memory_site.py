"""A whole site on the in-memory store: every site use case goes through the Store protocol alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.core.card import Card
from haven.errors import InputError, StoreClosedError, WrongPassphraseError
from haven.site.roles import Role
from haven.site.site import ERASE_AFTER_SETTING
from haven.store.memory import MemoryStore
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, ADMIN_DURESS, CLINICIAN, memory_site

REGISTRAR = "orbit velvet maple canyon drift"
VISIT = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
CARD = Card(bytes(range(16)))


def test_a_site_on_the_memory_store_keeps_staff_audit_visits_and_certificates(tmp_path: Path) -> None:
    site = memory_site(tmp_path / "site")
    with site.create("Ana", ADMIN) as admin:
        assert isinstance(admin.store, MemoryStore)
        admin.add_staff("Min", Role.CLINICIAN, CLINICIAN)
        admin.add_staff("Reg", Role.REGISTRAR, REGISTRAR)
        admin.certificates().standalone()
        admin.certificates().new_key("south")
    with site.unlock(REGISTRAR) as registrar:
        assert isinstance(registrar.store, MemoryStore) and registrar.staff.name == "Reg"
        with registrar.store.transaction():
            registrar.clinic(today=lambda: NOW.date()).add_visit(CARD, VISIT, first_visit=True)
            registrar.record("visit.add")
    with site.unlock(CLINICIAN) as clinician:
        assert [v.index for v in clinician.clinic().history(CARD).visits] == [0]
        assert len(clinician.certificates().issue(CARD, count=2)) == 2
        clinician.record("certificate.issue", 2)
    with site.unlock(ADMIN) as admin:
        assert [m.name for m in admin.staff_table().active()] == ["Ana", "Min", "Reg"]
        actions = [entry.action for entry, _ in admin.audit.rows()]
        assert actions == ["site.init", "staff.add", "staff.add", "visit.add", "certificate.issue"]
        assert admin.audit.verify().seq == 5
        assert sum(admin.counts().totals.values()) >= 1  # the visit's counters, sealed and read back


def test_staff_removal_on_the_memory_store_forgets_the_account_and_keeps_its_id(tmp_path: Path) -> None:
    site = memory_site(tmp_path / "site")
    with site.create("Ana", ADMIN) as admin:
        member = admin.add_staff("Min", Role.CLINICIAN, CLINICIAN)
        with pytest.raises(InputError, match="already a staff member"):
            admin.add_staff("Min", Role.CLINICIAN, "lunar gadget pepper ocean ivory")
        admin.remove_staff("Min")
        rows = {row.id: row for row in admin.store.staff()}
        assert rows[member.id].sealed is None and rows[member.id].removed == NOW.date().isoformat()
        assert admin.staff_table().names()[member.id] is None
        assert [e.action for e, _ in admin.audit.rows()] == ["site.init", "staff.add", "staff.remove"]
    with pytest.raises(WrongPassphraseError):
        site.unlock(CLINICIAN)


def test_a_failed_use_case_on_the_memory_store_leaves_no_trace(tmp_path: Path) -> None:
    """The change and its audit entry are one transaction: when the entry cannot be written, neither is."""
    site = memory_site(tmp_path / "site")
    with site.create("Ana", ADMIN) as admin:
        store = admin.store
        before = (store.count(), store.tallies(), store.audit_rows())
        with pytest.raises(RuntimeError), store.transaction():
            admin.clinic(today=lambda: NOW.date()).add_visit(CARD, VISIT, first_visit=True)
            admin.record("visit.add")
            raise RuntimeError("the audit write failed")
        assert (store.count(), store.tallies(), store.audit_rows()) == before


def test_locking_a_memory_site_closes_its_store(tmp_path: Path) -> None:
    site = memory_site(tmp_path / "site")
    with site.create("Ana", ADMIN) as admin:
        store = admin.store
    with pytest.raises(StoreClosedError):
        store.count()
    with site.unlock(ADMIN) as again:  # a new handle on the same data, as a file opened again
        assert again.store.count() == 0 and len(again.store.audit_rows()) == 1


def test_passphrase_changes_erase_limit_and_duress_work_on_the_memory_store(tmp_path: Path) -> None:
    site = memory_site(tmp_path / "site")
    new_admin = "lunar gadget pepper ocean ivory"
    with site.create("Ana", ADMIN, duress=ADMIN_DURESS) as admin:
        admin.add_staff("Min", Role.CLINICIAN, CLINICIAN)
        admin.change_passphrase(new_admin)
        admin.set_erase_after(5)
        assert admin.store.get_setting(ERASE_AFTER_SETTING) == (5).to_bytes(4, "big")
        admin.clinic(today=lambda: NOW.date()).add_visit(CARD, VISIT, first_visit=True)
    with pytest.raises(WrongPassphraseError):
        site.unlock(ADMIN)
    with site.unlock(new_admin) as admin:
        assert [e.action for e, _ in admin.audit.rows()][-2:] == ["staff.passwd", "site.set"]
        assert admin.store.count() == 1
    with site.unlock(ADMIN_DURESS) as coerced:  # erases, and opens a fresh, empty site
        assert coerced.store.count() == 0 and [e.action for e, _ in coerced.audit.rows()] == ["site.init"]
    for passphrase in (new_admin, CLINICIAN):
        with pytest.raises(WrongPassphraseError):
            site.unlock(passphrase)
