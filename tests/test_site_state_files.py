"""The site's own files, damaged or edited: a clear line and its exit code, never a hang or a traceback."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from haven.errors import SiteError, StoreCorruptError
from haven.site.kdf import KdfParams
from haven.site.keyslots import HEADER_BYTES, Header, KeySlotFile
from tests.conftest import Result
from tests.helpers_site import ADMIN, FakeSleep, make_site, new_site

Cli = Callable[..., Result]


def _one_clear_line(result: Result, code: int, *words: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_a_flipped_header_byte_is_a_clear_error_within_seconds(tmp_path: Path, mask: int) -> None:
    """Every byte of the key slot header, flipped: refused before any key is derived, never a hang."""
    site = new_site(tmp_path / "s", clinician=False, sleep=FakeSleep())
    path = site.folder.keyslots_path
    good = path.read_bytes()
    for offset in range(HEADER_BYTES):
        damaged = bytearray(good)
        damaged[offset] ^= mask
        path.write_bytes(bytes(damaged))
        start = time.monotonic()
        with pytest.raises(SiteError, match="damaged"):
            site.unlock(ADMIN)
        assert time.monotonic() - start < 2.0, offset
    path.write_bytes(good)
    assert site.failures() == 0  # a damaged file is not a wrong passphrase: no backoff grew
    site.unlock(ADMIN).close()


def test_a_forged_header_asking_for_a_huge_cost_is_refused(tmp_path: Path) -> None:
    """A header rewritten with a valid check (the code is public) still cannot make an unlock hang."""
    site = new_site(tmp_path / "s", clinician=False, sleep=FakeSleep())
    slots = KeySlotFile(site.folder.keyslots_path)
    header, _ = slots.read()
    for params in (KdfParams(65_284, 8 * 1024, 1), KdfParams(1, 16 * 1024 * 1024, 1), KdfParams(60, 1 << 20, 4)):
        slots.write_header(Header(params, header.salt, header.erase_after))
        start = time.monotonic()
        with pytest.raises(SiteError, match="no calibration makes"):
            site.unlock(ADMIN)
        assert time.monotonic() - start < 2.0


def test_site_show_says_a_damaged_header_is_damaged(run_cli: Cli) -> None:
    assert run_cli("init", "--admin", "Ana").code == 0
    path = Path(os.environ["HAVEN_HOME"]) / "keyslots"
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01  # a bit of the Argon2id passes: once 65,284 of them, and "kdf_meets_floor: true"
    path.write_bytes(bytes(data))
    _one_clear_line(run_cli("site", "show", "--json"), 6, "damaged")
    _one_clear_line(run_cli("staff", "list"), 6, "damaged")


def test_an_attempts_count_of_two_to_the_64_minus_one_counts_as_damaged(run_cli: Cli, tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "Ana").code == 0
    home = Path(os.environ["HAVEN_HOME"])
    path = home / "attempts"
    path.write_bytes(path.read_bytes()[:8] + (2**64 - 1).to_bytes(8, "big") + bytes(16))
    shown = run_cli("site", "show", "--json")
    assert shown.code == 0 and shown.json()["wrong_passphrases_in_a_row"] == 5, shown.err
    assert run_cli("seizure-view", "--raw", "--json").json()["wrong_passphrases_in_a_row"] == 5
    sleep = FakeSleep()
    site = make_site(home, sleep=sleep)
    site.unlock(ADMIN).close()  # works: the damaged count costs the wait of 5 failures, then resets
    assert sleep.waits == [4.0] and site.failures() == 0


@pytest.mark.parametrize("name", ["attempts", "keyslots"])
def test_a_directory_in_place_of_a_state_file_is_one_clear_line(run_cli: Cli, name: str) -> None:
    assert run_cli("init", "--admin", "Ana").code == 0
    path = Path(os.environ["HAVEN_HOME"]) / name
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")
    for args in (("site", "show"), ("seizure-view", "--raw"), ("staff", "list")):
        _one_clear_line(run_cli(*args), 6, name)


def test_an_unreadable_state_file_is_one_clear_line(run_cli: Cli) -> None:
    """As the site's owner (root reads anything): a counter or slot file that cannot be read is named."""
    from tests.helpers_site import as_nobody, share_with_nobody

    if os.geteuid() != 0:
        pytest.skip("needs root to hand the site to another user")
    with share_with_nobody() as shared:
        home = shared / "site"
        os.environ["HAVEN_HOME"] = str(home)
        assert run_cli("init", "--admin", "Ana").code == 0
        for name in ("attempts", "keyslots"):
            (home / name).chmod(0o000)
            assert as_nobody(["site", "show"], home) == 6
            assert as_nobody(["seizure-view", "--raw"], home) == 6
            (home / name).chmod(0o600)
        assert as_nobody(["site", "show"], home) == 0


def test_an_empty_database_says_so_and_is_not_made_anew(run_cli: Cli) -> None:
    assert run_cli("init", "--admin", "Ana").code == 0
    db = Path(os.environ["HAVEN_HOME"]) / "site.db"
    db.write_bytes(b"")
    _one_clear_line(run_cli("staff", "list"), 7, "empty")
    assert db.stat().st_size == 0  # no schema was silently created in it
    db.unlink()
    _one_clear_line(run_cli("staff", "list"), 6, "missing")


def test_every_site_file_is_private_including_the_databases_side_files(tmp_path: Path) -> None:
    """With the usual umask 022: the folder 0700, every file in it 0600, the journal included, while open."""
    from haven.core.card import Card
    from tests.helpers_clock import NOW

    old = os.umask(0o022)
    try:
        site = new_site(tmp_path / "s")
        with site.unlock(ADMIN) as session:
            session.clinic(today=lambda: NOW.date()).add_visit(
                Card(bytes(range(16))),
                {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]},
                first_visit=True,
            )
            names = sorted(p.name for p in site.folder.home.iterdir())
            assert {"site.db", "site.db-journal", "keyslots", "attempts"} <= set(names)
            modes = {n: stat.S_IMODE((site.folder.home / n).stat().st_mode) for n in names}
            assert modes == dict.fromkeys(names, 0o600)
        assert stat.S_IMODE(site.folder.home.stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_an_edited_erase_limit_is_put_back_and_reported(run_cli: Cli) -> None:
    """The header's limit cannot be authenticated (it is read before any key); its copy in the database is."""
    assert run_cli("init", "--admin", "Ana", "--erase-after", "5").code == 0
    slots = KeySlotFile(Path(os.environ["HAVEN_HOME"]) / "keyslots")
    header, _ = slots.read()
    slots.write_header(Header(header.params, header.salt, 0))  # someone with the files turns it off
    listed = run_cli("staff", "list")
    assert listed.code == 0
    assert "erase limit" in listed.err and "never instead of 5" in listed.err
    assert slots.read()[0].erase_after == 5
    assert run_cli("site", "show", "--json").json()["erase_after"] == 5
    quiet = run_cli("staff", "list")
    assert quiet.code == 0 and "erase limit" not in quiet.err
    # Zeroed by hand without the check: damaged, not silently "never".
    data = bytearray(slots.path.read_bytes())
    data[52:56] = bytes(4)
    slots.path.write_bytes(bytes(data))
    _one_clear_line(run_cli("site", "show"), 6, "damaged")


def test_a_database_left_by_an_older_haven_is_made_private_at_the_next_unlock(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", clinician=False)
    site.folder.db_path.chmod(0o644)
    site.unlock(ADMIN).close()
    assert stat.S_IMODE(site.folder.db_path.stat().st_mode) == 0o600


def test_the_database_refuses_to_open_when_it_is_not_a_file(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", clinician=False)
    site.folder.db_path.unlink()
    site.folder.db_path.mkdir()
    with pytest.raises(StoreCorruptError, match="not a file"):
        site.unlock(ADMIN)


def test_a_header_from_before_the_check_opens_and_gets_one(tmp_path: Path) -> None:
    """Sites made before the header had a check (zeros there) still open; the next unlock writes the check."""
    site = new_site(tmp_path / "s", clinician=False)
    path = site.folder.keyslots_path
    data = bytearray(path.read_bytes())
    checked = bytes(data[56:64])
    data[56:64] = bytes(8)
    path.write_bytes(bytes(data))
    site.unlock(ADMIN).close()
    assert path.read_bytes()[56:64] == checked


def test_a_duress_slot_from_before_keys_ahead_still_rebuilds_a_site_it_opens(tmp_path: Path) -> None:
    """A duress slot written by an older Haven (no key ahead, zero there) costs one more derivation, and works."""
    from haven.site.keyslots import SlotContent, SlotKey, SlotKind
    from tests.helpers_site import ADMIN_DURESS

    site = new_site(tmp_path / "s", clinician=False)
    slots = KeySlotFile(site.folder.keyslots_path)
    header, body = slots.read()
    key = SlotKey(header.params.derive(ADMIN_DURESS.encode(), header.salt))
    [(index, content)] = key.open_all(header, body)
    old = SlotContent(SlotKind.DURESS, content.roles, bytes(16), bytes(32), content.name)
    slots.write_slot(index, key.seal(header, index, old, os.urandom))
    site.unlock(ADMIN_DURESS).close()
    with site.unlock(ADMIN_DURESS) as session:
        assert session.staff.name == "Ana"
    assert slots.read()[0].salt != header.salt
