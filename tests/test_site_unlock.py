"""Key slots and staff accounts: creating a site, unlocking it, adding, removing and changing passphrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.app import App
from haven.errors import (
    InputError,
    PermissionDeniedError,
    SiteError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from haven.site.keyslots import FILE_BYTES, SLOTS, KeySlotFile
from haven.site.roles import ALL_ROLES, Permission, Role
from tests.helpers_site import ADMIN, ADMIN_DURESS, CLINICIAN, CLINICIAN_DURESS, WRONG, make_site, new_site


def test_create_then_unlock_identifies_the_staff_member(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        assert session.staff.name == "Ana"
        assert session.staff.roles == ALL_ROLES
    with site.unlock("  grain  twenty head airport\tswarm ") as session:  # whitespace is normalised
        assert session.staff.name == "Ana"
    with site.unlock(CLINICIAN) as session:
        assert session.staff.name == "Min"
        assert session.staff.roles == Role.CLINICIAN
        with pytest.raises(PermissionDeniedError):
            session.require(Permission.STAFF_MANAGE)
        session.require(Permission.HISTORY_VIEW)


def test_wrong_passphrase_opens_nothing(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with pytest.raises(WrongPassphraseError):
        site.unlock(WRONG)
    with pytest.raises(WrongPassphraseError):
        site.unlock("Grain twenty head airport swarm")  # case matters


def test_key_slot_file_is_fixed_size_and_random_looking(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    data = site.folder.keyslots_path.read_bytes()
    assert len(data) == FILE_BYTES
    body = data[64:]
    # No slot is all zeros or repeats another: used and unused slots are all random bytes.
    slots = [body[i * (len(body) // SLOTS) : (i + 1) * (len(body) // SLOTS)] for i in range(SLOTS)]
    assert len(set(slots)) == SLOTS
    assert max(body.count(bytes([b])) for b in range(256)) < len(body) / 256 * 2


def test_weak_passphrases_are_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    for weak in ("password", "correct horse", "Tr0ub4dor&3xyz", "grain twenty head airport", "aaaaaaaaaaaaaaaaaaaa"):
        with pytest.raises(WeakPassphraseError):
            site.create("Ana", weak)
    assert not site.folder.exists()


def test_duress_passphrase_must_differ_and_no_two_accounts_share_one(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    with pytest.raises(InputError):
        site.create("Ana", ADMIN, duress=ADMIN)
    site = new_site(tmp_path / "t", clinician=False)
    with site.unlock(ADMIN) as session:
        for passphrase, duress in ((ADMIN, None), (ADMIN_DURESS, None), (CLINICIAN, ADMIN)):
            with pytest.raises(InputError, match="cannot be used"):
                session.add_staff("Bo", Role.REGISTRAR, passphrase, duress)
        with pytest.raises(InputError, match="already"):
            session.add_staff("Ana", Role.REGISTRAR, CLINICIAN)


def test_removed_staff_passphrases_stop_working_and_their_name_is_forgotten(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        session.remove_staff("Min")
        assert [m.name for m in session.staff_table().active()] == ["Ana"]
        assert "Min" not in session.staff_table().names().values()
        assert None in session.staff_table().names().values()  # the id stays for the audit log
    for passphrase in (CLINICIAN, CLINICIAN_DURESS):
        with pytest.raises(WrongPassphraseError):
            site.unlock(passphrase)
    with site.unlock(ADMIN) as session:  # the removed duress passphrase erased nothing
        assert session.staff.name == "Ana"


def test_cannot_remove_yourself_or_the_last_coordinator(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        with pytest.raises(InputError, match="own account"):
            session.remove_staff("Ana")
        session.add_staff("Bo", Role.COORDINATOR, WRONG)
    with site.unlock(WRONG) as session:
        session.remove_staff("Ana")
    with site.unlock(WRONG) as session, pytest.raises(InputError):
        session.remove_staff("Bo")


def test_only_coordinators_manage_staff(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(CLINICIAN) as session:
        app = App(session)
        with pytest.raises(PermissionDeniedError):
            app.staff.add("Bo", Role.REGISTRAR, WRONG)
        with pytest.raises(PermissionDeniedError):
            app.staff.remove("Ana")
        with pytest.raises(PermissionDeniedError):
            app.staff.change_passphrase(WRONG, name="Ana")
        with pytest.raises(PermissionDeniedError):
            app.staff.list()


def test_changing_your_passphrase_replaces_the_slot_and_keeps_duress(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    before = site.folder.keyslots_path.read_bytes()
    with site.unlock(CLINICIAN) as session:
        old_slot = session.own_slot_bytes
        session.change_passphrase(WRONG)
        with pytest.raises(InputError):  # still refuses another account's passphrase
            session.change_passphrase(ADMIN)
    after = site.folder.keyslots_path.read_bytes()
    assert old_slot in before and old_slot not in after
    with pytest.raises(WrongPassphraseError):
        site.unlock(CLINICIAN)
    with site.unlock(WRONG) as session:
        assert session.staff.name == "Min"
    # The duress passphrase was kept: it still erases.
    site.unlock(CLINICIAN_DURESS).close()
    with pytest.raises(WrongPassphraseError):
        site.unlock(ADMIN)


def test_coordinator_reset_drops_the_duress_passphrase(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        session.change_passphrase(WRONG, name="Min")
    with site.unlock(WRONG) as session:
        assert session.staff.name == "Min"
    for gone in (CLINICIAN, CLINICIAN_DURESS):
        with pytest.raises(WrongPassphraseError):
            site.unlock(gone)
    with site.unlock(ADMIN) as session:
        assert session.staff.name == "Ana"


def test_clear_duress_removes_your_duress_passphrase(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        session.change_passphrase(ADMIN.replace("swarm", "smoke"), clear_duress=True)
    with pytest.raises(WrongPassphraseError):
        site.unlock(ADMIN_DURESS)
    with site.unlock(CLINICIAN) as session:
        assert session.staff.name == "Min"


def test_site_has_room_for_half_as_many_accounts_as_slots(tmp_path: Path) -> None:
    from haven.site.passphrase import suggest

    site = new_site(tmp_path / "s", clinician=False)
    with site.unlock(ADMIN) as session:
        for n in range(SLOTS // 2 - 1):
            session.add_staff(f"staff {n}", Role.REGISTRAR, suggest())
        with pytest.raises(SiteError, match="room for"):
            session.add_staff("one too many", Role.REGISTRAR, suggest())
        assert len(session.staff_table().active()) == SLOTS // 2


def test_a_session_refuses_to_write_slots_after_the_site_was_erased(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        site.panic()
        with pytest.raises(SiteError, match="changed since you unlocked"):
            session.add_staff("Bo", Role.REGISTRAR, WRONG)
    with pytest.raises(WrongPassphraseError):
        site.unlock(WRONG)


def test_missing_or_damaged_key_slot_file_is_a_clear_error(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    path = site.folder.keyslots_path
    data = path.read_bytes()
    path.write_bytes(b"XXXXXXXX" + data[8:])
    with pytest.raises(SiteError, match="damaged"):
        site.unlock(ADMIN)
    path.write_bytes(data[:-1])
    with pytest.raises(SiteError, match="damaged"):
        site.unlock(ADMIN)
    path.unlink()
    with pytest.raises(SiteError, match="no key slot file"):
        site.unlock(ADMIN)
    assert not KeySlotFile(path).exists()


def test_create_refuses_an_existing_site(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", clinician=False)
    with pytest.raises(SiteError, match="already exists"):
        site.create("Bo", WRONG)
