"""Duress passphrases: same cost as any attempt, an empty-looking site, every key slot crypto-erased."""

from __future__ import annotations

import contextlib
import statistics
import time
from pathlib import Path

import pytest

from haven.app.clinic import Clinic
from haven.core.card import Card
from haven.errors import NoRecordsError, StoreCorruptError, WrongPassphraseError
from haven.site.config import SETTLE_SECONDS
from haven.site.keyslots import HEADER_BYTES, SLOT_BYTES, SLOTS
from haven.site.roles import ALL_ROLES
from haven.store.sqlite import SQLiteStore
from tests.helpers_clock import NOW
from tests.helpers_site import (
    ADMIN,
    ADMIN_DURESS,
    CHEAP,
    CLINICIAN,
    CLINICIAN_DURESS,
    WRONG,
    FakeSleep,
    folder_bytes,
    make_site,
    new_site,
)

VISIT = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}


def _slots(home: Path) -> list[bytes]:
    body = (home / "keyslots").read_bytes()[HEADER_BYTES:]
    return [body[i * SLOT_BYTES : (i + 1) * SLOT_BYTES] for i in range(SLOTS)]


def test_after_duress_the_real_passphrase_opens_nothing(tmp_path: Path, card: Card) -> None:
    site = new_site(tmp_path / "s", sleep=FakeSleep())  # three wrong attempts below: skip the backoff wait
    with site.unlock(ADMIN) as session:
        session.clinic(today=lambda: NOW.date()).add_visit(card, VISIT, first_visit=True)
        old_master = session._master_key
    with site.unlock(CLINICIAN_DURESS) as session:
        # The coerced person sees a working site, empty, with their own account in it, holding every
        # role as the first account of any new site does (a lone clinician is a site init never makes).
        assert session.staff.name == "Min"
        assert session.staff.roles == ALL_ROLES
        with pytest.raises(NoRecordsError):
            Clinic(session.store).history(card)
        assert list(session.store.records()) == []
        assert len(session.store.query("SELECT id FROM staff")) == 1  # sealed: a clinician reads no staff list
    for passphrase in (ADMIN, CLINICIAN, ADMIN_DURESS):
        with pytest.raises(WrongPassphraseError):
            site.unlock(passphrase)
    # The duress passphrase keeps opening the new, empty site.
    with site.unlock(CLINICIAN_DURESS) as session:
        assert session.staff.name == "Min"
        assert list(session.store.records()) == []
    # And even the old master key (had someone copied it) opens nothing now on disk.
    with pytest.raises(StoreCorruptError):
        SQLiteStore(site.folder.db_path, key=old_master)


def test_after_duress_every_former_key_slot_is_gone_from_every_file(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    home = site.folder.home
    before = _slots(home)
    site.unlock(ADMIN_DURESS).close()
    files = folder_bytes(home)
    assert set(files) >= {"keyslots", "attempts", "site.db"}
    for old in before:
        for start in range(0, SLOT_BYTES - 16 + 1, 16):  # not even a 16-byte piece of any slot is left
            piece = old[start : start + 16]
            assert not any(piece in data for data in files.values())


def test_the_folder_looks_the_same_with_or_without_duress_passphrases(tmp_path: Path) -> None:
    with_duress = new_site(tmp_path / "a", duress=ADMIN_DURESS)
    without = new_site(tmp_path / "b", duress=None)
    a, b = folder_bytes(with_duress.folder.home), folder_bytes(without.folder.home)
    assert {k: len(v) for k, v in a.items()} == {k: len(v) for k, v in b.items()}
    assert a["attempts"] == b["attempts"]
    # The key slot headers differ only in the random salt (and the check over it); the slots are all random bytes.
    assert a["keyslots"][:20] == b["keyslots"][:20] and a["keyslots"][52:56] == b["keyslots"][52:56]
    # Inside the database too: every account owns two slots either way.
    with with_duress.unlock(ADMIN) as s1, without.unlock(ADMIN) as s2:
        t1 = {t.name: (t.columns, len(t.rows)) for t in s1.store.tables() if t.name != "sqlite_master"}
        t2 = {t.name: (t.columns, len(t.rows)) for t in s2.store.tables() if t.name != "sqlite_master"}
        assert t1 == t2
        assert all(None not in m.slots for m in s1.staff_table().active() + s2.staff_table().active())


def test_duress_works_wherever_a_passphrase_is_asked(tmp_path: Path) -> None:
    """Typed at the first prompt of any command: the erase happens in unlock, before any permission check."""
    site = new_site(tmp_path / "s")
    with site.unlock(CLINICIAN_DURESS) as session:
        assert session.staff.name == "Min"
    with pytest.raises(WrongPassphraseError):
        site.unlock(CLINICIAN)


def _timed_unlock(site_factory, passphrase: str) -> float:
    site = site_factory()
    start = time.perf_counter()
    with contextlib.suppress(WrongPassphraseError):
        site.unlock(passphrase).close()
    return time.perf_counter() - start


def _timings(tmp_path: Path, settle: float, calibration=CHEAP, runs: int = 5) -> dict[str, list[float]]:
    counter = iter(range(10_000))

    def fresh():
        return new_site(tmp_path / f"site{next(counter)}", calibration=calibration, settle=settle)

    shared = fresh()
    out: dict[str, list[float]] = {"real": [], "wrong": [], "duress": []}
    for _ in range(runs):  # interleaved, so load changes hit all three alike
        out["real"].append(_timed_unlock(lambda: shared, ADMIN))
        out["wrong"].append(_timed_unlock(lambda: shared, WRONG))
        shared.attempts.write(0)  # keep the backoff out of this measurement
        out["duress"].append(_timed_unlock(fresh, ADMIN_DURESS))
    return out


# Noise bound: medians of real, wrong and duress unlocks must agree within 50 ms
# (the padding makes every ending last SETTLE_SECONDS["calibrated"] = 250 ms after the
# derivation; on an idle machine they agree within a few ms, the rest is room for CI load).
TIMING_NOISE_SECONDS = 0.05


@pytest.mark.timing
def test_duress_real_and_wrong_unlocks_take_the_same_time(tmp_path: Path) -> None:
    settle = SETTLE_SECONDS["calibrated"]
    times = _timings(tmp_path, settle)
    medians = {k: statistics.median(v) for k, v in times.items()}
    assert max(medians.values()) - min(medians.values()) < TIMING_NOISE_SECONDS, medians
    assert all(t >= settle for ts in times.values() for t in ts)


@pytest.mark.timing
def test_without_the_padding_duress_would_stand_out(tmp_path: Path) -> None:
    """The control for the timing test: the padding is what hides the erase-and-rebuild work.

    Minimums, not medians: load only ever adds time, so the fastest run shows the work itself.
    """
    times = _timings(tmp_path, settle=0.0)
    assert min(times["duress"]) > min(times["wrong"]), times


def test_duress_unlock_leaves_the_same_files(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    before = {k: len(v) for k, v in folder_bytes(site.folder.home).items()}
    site.unlock(ADMIN_DURESS).close()
    after = {k: len(v) for k, v in folder_bytes(site.folder.home).items()}
    assert before.keys() == after.keys()
    assert before["keyslots"] == after["keyslots"] and before["attempts"] == after["attempts"]


def test_duress_never_holds_the_master_key(tmp_path: Path) -> None:
    """Someone who imaged the disk first and then extracts the duress passphrase learns no key from it."""
    from haven.site.keyslots import KeySlotFile, SlotKey, SlotKind

    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN) as session:
        master = session._master_key
    header, slots = KeySlotFile(site.folder.keyslots_path).read()
    key = SlotKey(header.params.derive(ADMIN_DURESS.encode(), header.salt))
    [(_, content)] = key.open_all(header, slots)
    assert content.kind == SlotKind.DURESS
    # It holds the key of the site duress will build (a new salt), nothing of this one.
    assert master not in content.pack() and content.master_key != master
    with pytest.raises(StoreCorruptError):
        SQLiteStore(site.folder.db_path, key=content.master_key).close()


def test_duress_site_can_be_unlocked_by_a_fresh_process(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s")
    site.unlock(ADMIN_DURESS).close()
    again = make_site(site.folder.home)
    with again.unlock(ADMIN_DURESS) as session:
        assert session.staff.name == "Ana"
        assert session.audit.verify().seq == 1  # a site set up today: one "site.init" entry


def test_after_duress_the_site_looks_like_a_fresh_init(tmp_path: Path) -> None:
    """The empty site has what `haven init` makes: its one staff member, no trust list, and nothing else."""
    from haven.cert_services import Certificates

    fresh = new_site(tmp_path / "fresh", duress=None, clinician=False)
    site = new_site(tmp_path / "s")
    with site.unlock(ADMIN_DURESS) as session, fresh.unlock(ADMIN) as reference:
        assert Certificates(session.store).trust_list() is None  # no signing key names the rebuilt site
        shape = {t.name: len(t.rows) for t in session.store.tables()}
        reference_shape = {t.name: len(t.rows) for t in reference.store.tables()}
        assert shape == reference_shape
        assert [m.name for m in session.staff_table().active()] == ["Ana"]
