"""Encryption at rest: no file of a running or a stopped site holds a key, a name or a clinical value."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from haven.app.clinic import Clinic, SealCounts, unsealed_tally
from haven.core.card import Card
from haven.site.roles import Role
from haven.site.tallies import TallySealer
from haven.store.sqlite import SQLiteStore
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, CLINICIAN, find_in_files, folder_bytes, new_site, raw_write

ADMIN_NAME = "Kim Sun-hee"
STAFF_NAME = "Pak Yong-ho"
VISITS = [
    {
        "holder": {"birth_year": 1988, "sex": "female"},
        "entries": [
            {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FJ8529"},
            {"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-01"},
        ],
    },
    {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-29"}]},
]


def _needles(master: bytes, signing: bytes) -> dict[str, bytes]:
    text = [
        ADMIN_NAME,
        STAFF_NAME,
        "comirnaty",
        "Comirnaty",
        "EU/1/20/1528",
        "J07BN01",
        "FJ8529",
        "2026-10-01",
        "2026-10-29",
        "2026-11-29",
        "antigen",
        "SQLite format 3",
        "CREATE TABLE",
        "staff",
        "audit",
        "visit.add",
        "signing.key",
    ]
    needles = {t: t.encode() for t in text}
    needles["master key"] = master
    needles["master key (hex)"] = master.hex().encode()
    needles["master key (first half)"] = master[:16]
    needles["signing key"] = signing
    needles["signing key (hex)"] = signing.hex().encode()
    return needles


def _fill(store: SQLiteStore, card: Card, signing: bytes, seal: SealCounts = unsealed_tally) -> None:
    clinic = Clinic(store, today=lambda: NOW.date(), seal_counts=seal)
    for n, visit in enumerate(VISITS):
        clinic.add_visit(card, visit, first_visit=n == 0)
    store.put_setting("signing.key", signing)


class _RolledBack(Exception):
    pass


def test_no_plaintext_in_any_file_of_a_running_or_a_stopped_site(
    tmp_path: Path, card: Card, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    site = new_site(tmp_path / "site", admin=ADMIN_NAME, clinician=False)
    signing = secrets.token_bytes(32)
    session = site.unlock(ADMIN)
    try:
        session.add_staff(STAFF_NAME, Role.CLINICIAN, CLINICIAN)
        _fill(session.store, card, signing, TallySealer.of(session.store, session.site.random_bytes))
        session.record("visit.add", 2)
        needles = _needles(session._master_key, signing)
        running = folder_bytes(site.folder.home)
        # Running, between commits: the connection is open; the rollback journal is empty.
        assert set(running) == {"site.db", "site.db-journal", "keyslots", "attempts"}
        assert running["site.db-journal"] == b""
        assert find_in_files(running, needles) == []
        # In the middle of a commit: the journal holds the changed pages' images from before it.
        with pytest.raises(_RolledBack), raw_write(session.store) as conn:
            conn.execute("UPDATE staff SET removed = removed")
            conn.execute("DELETE FROM audit")
            mid_commit = folder_bytes(site.folder.home)
            raise _RolledBack
        assert len(mid_commit["site.db-journal"]) > 4096
        assert find_in_files(mid_commit, needles) == []
    finally:
        session.close()
    stopped = folder_bytes(site.folder.home)
    # No logs, no temporary files, nothing else (the journal is empty).
    assert set(stopped) == {"site.db", "site.db-journal", "keyslots", "attempts"}
    assert stopped["site.db-journal"] == b""
    assert find_in_files(stopped, needles) == []
    assert list(scratch.iterdir()) == []


def test_the_search_finds_plaintext_in_an_unencrypted_database(tmp_path: Path, card: Card) -> None:
    """The control: the same search over the same data without SQLCipher finds it."""
    store = SQLiteStore(tmp_path / "plain.db")
    signing = secrets.token_bytes(32)
    try:
        _fill(store, card, signing)
        store.put_setting("staff", ADMIN_NAME.encode())
        found = {label for label, _ in find_in_files(folder_bytes(tmp_path), _needles(bytes(32), signing))}
    finally:
        store.close()
    assert {ADMIN_NAME, "SQLite format 3", "CREATE TABLE", "signing key", "signing.key"} <= found


def test_site_files_are_private_to_their_owner(tmp_path: Path) -> None:
    site = new_site(tmp_path / "site", clinician=False)
    assert (os.stat(site.folder.home).st_mode & 0o777) == 0o700
    for name in ("keyslots", "attempts"):
        assert (os.stat(site.folder.home / name).st_mode & 0o077) == 0


def test_seizure_view_shows_what_a_passphrase_holder_sees_and_raw_shows_random_bytes(run_cli) -> None:
    assert run_cli("init", "--admin", ADMIN_NAME, "--json").code == 0
    seen = run_cli("seizure-view", "--json").json()
    names = {t["name"]: t for t in seen["tables"]}
    assert {"staff", "audit", "records", "tallies", "settings"} <= set(names)
    assert len(names["staff"]["rows"]) == 1  # a passphrase holder sees that there is one account ...
    assert ADMIN_NAME not in json.dumps(seen)  # ... but not its name: sealed to coordinators (test_role_keys.py)
    raw = run_cli("seizure-view", "--raw", "--json").json()
    assert "tables" not in raw  # ... someone without one sees only files
    by_name = {f["path"]: f for f in raw["files"]}
    assert by_name["site.db"]["entropy_bits_per_byte"] > 7.5
    assert by_name["keyslots"]["entropy_bits_per_byte"] > 7.5
    assert raw["keyslots_header"]["kdf"]["memory_kib"] == 8 * 1024
