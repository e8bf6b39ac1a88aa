"""haven panic: no passphrase, no key derivation, well under 2 s; the folder then looks like a locked site."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from haven.errors import SiteError, WrongPassphraseError
from haven.site.kdf import MIN_MEMORY_KIB, KdfParams
from haven.site.keyslots import HEADER_BYTES, SLOT_BYTES, SLOTS, Header
from tests.helpers_site import ADMIN, ADMIN_DURESS, CLINICIAN, folder_bytes, new_site

PANIC_LIMIT_SECONDS = 2.0


def test_panic_erases_every_slot_without_a_passphrase_in_under_2_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = new_site(tmp_path / "s", clinician=False)
    # Real-size parameters in the header (an unlock would take a second): panic must not derive anything.
    header, _ = site.slots_file.read()
    site.slots_file.write_header(Header(KdfParams(3, MIN_MEMORY_KIB, 2), header.salt))
    before = folder_bytes(site.folder.home)
    body = before["keyslots"][HEADER_BYTES:]

    def no_kdf(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("panic derived a key")

    monkeypatch.setattr(KdfParams, "derive", no_kdf)
    start = time.monotonic()
    site.panic()
    elapsed = time.monotonic() - start
    assert elapsed < PANIC_LIMIT_SECONDS / 4  # a comfortable margin under the 2 s requirement
    monkeypatch.undo()
    after = folder_bytes(site.folder.home)
    assert {k: len(v) for k, v in after.items()} == {"keyslots": len(before["keyslots"]), "attempts": 32} | {
        "site.db": len(after["site.db"]),
        "site.db-journal": 0,  # the rollback journal, empty between commits
    }
    for i in range(SLOTS):
        assert body[i * SLOT_BYTES : (i + 1) * SLOT_BYTES] not in after["keyslots"]
    assert before["site.db"][:64] not in after["site.db"]
    # (That no passphrase opens the site afterwards is checked with cheap parameters below.)


def test_after_panic_no_passphrase_opens_the_site(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    site.panic()
    for passphrase in (ADMIN, ADMIN_DURESS, CLINICIAN):
        with pytest.raises(WrongPassphraseError):
            site.unlock(passphrase)


def test_panic_leaves_a_folder_that_looks_like_a_fresh_locked_site(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    site.panic()
    fresh = new_site(tmp_path / "t")
    a, b = folder_bytes(site.folder.home), folder_bytes(fresh.folder.home)
    assert set(a) == set(b)
    assert len(a["keyslots"]) == len(b["keyslots"])
    assert a["keyslots"][:20] == b["keyslots"][:20]  # same magic and Argon2id cost
    assert a["keyslots"][20:52] != b["keyslots"][20:52]  # a new salt


def test_panic_works_on_a_damaged_key_slot_file_and_refuses_an_empty_folder(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    site.folder.keyslots_path.write_bytes(b"garbage")
    site.panic()
    with pytest.raises(WrongPassphraseError):
        site.unlock(CLINICIAN)
    empty = new_site(tmp_path / "t")
    for path in empty.folder.files():
        path.unlink()
    with pytest.raises(SiteError):
        empty.panic()


def test_panic_does_not_wait_for_an_open_session(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        start = time.monotonic()
        site.panic()
        assert time.monotonic() - start < PANIC_LIMIT_SECONDS / 4
        assert session.staff.name == "Ana"
    with pytest.raises(WrongPassphraseError):
        site.unlock(ADMIN)


def test_cli_panic_asks_unless_yes(run_cli) -> None:
    assert run_cli("init", "--admin", "Ana").code == 0
    refused = run_cli("panic")
    assert refused.code == 2 and "--yes" in refused.err
    assert run_cli("staff", "list").code == 0
    done = run_cli("panic", "--yes", "--json")
    assert done.code == 0 and done.json()["erased"] is True
    assert run_cli("staff", "list").code == 8
