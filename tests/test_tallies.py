"""Counters only coordinators can read: sealed tallies, their size, the fold, and the migration."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.core.aggregates import TALLY_MIN_BYTES, AggregateKey, aggregate_keys, encode_tally
from haven.core.card import Card
from haven.core.catalogue import catalogue
from haven.core.entries import MAX_ENTRIES, parse_visit
from haven.errors import PermissionDeniedError
from haven.site.audit import AuditEntry
from haven.site.rolekeys import AUDIT_PUBLIC, audit_private
from haven.site.roles import Role
from haven.site.site import Site
from haven.site.tallies import LEGACY_TABLE, TallySealer, open_tally
from haven.store.base import SealedTally
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, CHEAP, make_site

REGISTRAR = "velvet orbit cannon drastic lumber"
TEST = {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-24"}
TD = {"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-24"}
WEEK = 202648


def _site(home: Path) -> Site:
    site = make_site(home)
    with site.create("Kim", ADMIN, calibration=CHEAP) as admin:
        admin.add_staff("Reza", Role.REGISTRAR, REGISTRAR)
    return site


def _add(site: Site, passphrase: str, visits: list[list[dict[str, object]]], start: int = 0) -> None:
    with site.unlock(passphrase) as session:
        clinic = session.clinic(today=lambda: NOW.date())
        for n, entries in enumerate(visits, start=start):
            clinic.add_visit(Card(bytes([n]) * 16), entries, first_visit=True, audit=session.auditor("visit.add"))


def _week(site: Site) -> dict[tuple[int, int, int], int]:
    """The coordinator's totals for WEEK by (kind, code, detail), age bands summed."""
    with site.unlock(ADMIN) as admin:
        totals = admin.counts().totals
    out: dict[tuple[int, int, int], int] = {}
    for key, n in totals.items():
        if key.week == WEEK:
            out[(key.kind, key.code, key.detail)] = out.get((key.kind, key.code, key.detail), 0) + n
    return out


def test_a_registrars_visits_are_sealed_tallies_the_coordinator_sums_and_folds(tmp_path: Path) -> None:
    site = _site(tmp_path / "s")
    _add(site, REGISTRAR, [[TEST, TD], [TEST], [TEST]])
    with site.unlock(REGISTRAR) as registrar:
        stored = registrar.store.tallies()
        assert len(stored) == 3  # one per visit
        with pytest.raises(PermissionDeniedError):
            registrar.counts()
        with pytest.raises(PermissionDeniedError):
            audit_private(registrar.keys, registrar.store.get_setting)
    antigen, td = (2, 1, 2), (1, catalogue().product("td").id, 1)
    assert _week(site) == {antigen: 3, td: 1}
    with site.unlock(ADMIN) as admin:
        assert len(admin.store.tallies()) == 1  # folded into one
        assert [e.action for e, _ in admin.audit.rows()][-1:] == ["counts.fold"]
        assert [e.count for e, _ in admin.audit.rows()][-1] == 3
    _add(site, REGISTRAR, [[TEST], [TD, TEST]], start=10)
    assert _week(site) == {antigen: 5, td: 2}  # the fold kept every count
    assert _week(site) == {antigen: 5, td: 2}  # and reading a folded table again changes nothing
    with site.unlock(ADMIN) as admin:
        assert len(admin.store.tallies()) == 1
        assert [e.action for e, _ in admin.audit.rows()].count("counts.fold") == 2


def test_every_visits_tally_has_one_size_whatever_it_holds(tmp_path: Path) -> None:
    widest = [
        {"type": "vaccination", "product": "td", "dose": 1 + n % 9, "date": f"2026-{1 + n % 11:02d}-{1 + n % 27:02d}"}
        for n in range(MAX_ENTRIES)
    ]
    keys = aggregate_keys(parse_visit({"holder": {"birth_year": 1950}, "entries": widest}, NOW.date()))
    assert len(set(keys)) > MAX_ENTRIES // 2
    assert len(encode_tally(keys)) == len(encode_tally([])) == TALLY_MIN_BYTES
    site = _site(tmp_path / "s")
    _add(site, REGISTRAR, [[TEST], [{"type": "note", "date": "2026-11-24", "text": "x"}], widest])
    with site.unlock(REGISTRAR) as registrar:
        sizes = {len(t.sealed) for t in registrar.store.tallies()}
        assert len(sizes) == 1 and len({len(t.id) for t in registrar.store.tallies()}) == 1


def test_a_tally_opens_only_under_its_own_id_and_an_audit_entry_is_no_tally(tmp_path: Path) -> None:
    site = _site(tmp_path / "s")
    with site.unlock(ADMIN) as admin:
        private = audit_private(admin.keys, admin.store.get_setting)
        public = admin.store.get_setting(AUDIT_PUBLIC)
        assert public is not None
        key = AggregateKey(WEEK, 2, 1, 2, 0)
        tally = TallySealer(public, admin.site.random_bytes)([key])
        assert open_tally(private, tally) == {key: 1}
        assert open_tally(private, SealedTally(bytes(16), tally.sealed)) is None  # copied under another id
        entry = AuditEntry(1, "2026-11-29T14Z", bytes(16), "visit.add", 1).seal(public)
        assert open_tally(private, SealedTally(tally.id, entry)) is None
        # A tally that does not open is kept and left out of the totals (and not folded away).
        admin.store.add([], [tally, SealedTally(bytes(16), tally.sealed)])
        counts = admin.counts()
        assert counts.totals == {key: 1} and counts.unreadable == 1
        assert len(admin.store.tallies()) == 2


def test_schema_5_seals_an_older_sites_counters_into_one_tally_at_the_next_unlock(tmp_path: Path) -> None:
    from haven.store.sqlite import SQLiteStore, sqlite

    site = _site(tmp_path / "s")
    with site.unlock(ADMIN) as admin:
        master = admin._master_key
    # The database as a schema-4 Haven left it: counters in the clear.
    path = site.folder.db_path
    conn = sqlite.connect(str(path), isolation_level=None)
    conn.execute(f"PRAGMA key = \"x'{master.hex()}'\"")
    conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
    conn.execute("DROP TABLE tallies")
    conn.execute(
        "CREATE TABLE aggregates (week INTEGER NOT NULL, kind INTEGER NOT NULL, code INTEGER NOT NULL,"
        " detail INTEGER NOT NULL, age_band INTEGER NOT NULL, count INTEGER NOT NULL,"
        " PRIMARY KEY (week, kind, code, detail, age_band)) WITHOUT ROWID"
    )
    conn.executemany("INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?)", [(WEEK, 2, 1, 2, 3, 7), (WEEK, 1, 3, 1, 0, 2)])
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    store = SQLiteStore(path, master)
    assert {t.name for t in store.tables()} >= {LEGACY_TABLE, "tallies"}  # kept until it can be sealed
    store.close()
    with site.unlock(REGISTRAR) as registrar:  # any passphrase seals: the public key is in the clear
        names = {t.name for t in registrar.store.tables()}
        assert LEGACY_TABLE not in names and "aggregates" not in names
        assert len(registrar.store.tallies()) == 1
    assert _week(site) == {(2, 1, 2): 7, (1, 3, 1): 2}


def test_an_import_seals_one_tally_per_batch(tmp_path: Path) -> None:
    site = _site(tmp_path / "s")
    items = [(Card(bytes([n]) * 16), [TEST], None) for n in range(7)]
    with site.unlock(REGISTRAR) as registrar:
        clinic = registrar.clinic(today=lambda: NOW.date())
        assert clinic.import_visits(items, batch=3, audit=registrar.auditor("visit.import")) == 7
        assert len(registrar.store.tallies()) == 3
    assert _week(site) == {(2, 1, 2): 7}


def test_a_clinicians_tallies_open_for_the_coordinator(tmp_path: Path) -> None:
    site = make_site(tmp_path / "s")
    with site.create("Kim", ADMIN, calibration=CHEAP) as admin:
        admin.add_staff("Amara", Role.CLINICIAN, "census unable gallery jump essay happy")
    _add(site, "census unable gallery jump essay happy", [[TEST]])
    assert _week(site) == {(2, 1, 2): 1}
