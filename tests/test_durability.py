"""Acknowledged visits survive a killed process; the SQLite settings behind that promise hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from haven.app.clinic import Clinic
from haven.core.card import Card
from haven.store.sqlite import SQLiteStore

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from haven.core.card import Card
    from haven.app.clinic import Clinic, unsealed_tally
    from haven.store.sqlite import SQLiteStore

    store = SQLiteStore(Path(sys.argv[1]))
    clinic = Clinic(store, seal_counts=unsealed_tally)
    card = Card(bytes(range(16)))
    entries = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-01-01"}]
    first = True
    while True:
        added = clinic.add_visit(card, entries, first_visit=first)
        first = False
        print(added.index, flush=True)  # acknowledged only after add() returned
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_sigkill_loses_no_acknowledged_visit(tmp_path: Path, round_: int) -> None:
    db = tmp_path / "site.db"
    SQLiteStore(db).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged: list[int] = []
    target = 20 + 15 * round_
    deadline = time.monotonic() + 60
    while len(acknowledged) < target and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)  # mid-loop, most likely mid-transaction
    proc.wait()
    proc.stdout.close()
    assert len(acknowledged) >= target, "writer did not get going"
    store = SQLiteStore(db)
    try:
        assert store.integrity_check() == "ok"
        indices = [v.index for v in Clinic(store).history(Card(bytes(range(16)))).visits]
        assert set(acknowledged) <= set(indices)
        assert indices == list(range(len(indices)))  # whole visits only, no gaps
    finally:
        store.close()


def test_rollback_journal_and_full_sync_are_in_force(sqlite_store: SQLiteStore) -> None:
    conn = sqlite_store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "truncate"  # no WAL: no history of commits
    assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 0  # no mapped pages: no SIGBUS on a full disk
    assert conn.execute("PRAGMA cache_spill").fetchone()[0] == 0  # the main file changes only at COMMIT
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY: no temp files
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


LEGACY_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from haven.store import sqlite
    sqlite.JOURNAL_MODE = "wal"  # as Haven kept sites before
    from haven.core.card import Card
    from haven.app.clinic import Clinic, unsealed_tally

    clinic = Clinic(sqlite.SQLiteStore(Path(sys.argv[1])), seal_counts=unsealed_tally)
    entries = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-01-01"}]
    for n in range(5):
        clinic.add_visit(Card(bytes(range(16))), entries, first_visit=n == 0)
    os.kill(os.getpid(), signal.SIGKILL)  # the commits stay in the WAL, as after a crash
    """
)


def test_a_database_left_in_wal_mode_keeps_its_visits_and_loses_its_wal(tmp_path: Path) -> None:
    db = tmp_path / "site.db"
    subprocess.run([sys.executable, "-c", LEGACY_WRITER, str(db)], check=False)
    assert (tmp_path / "site.db-wal").stat().st_size > 0
    store = SQLiteStore(db)
    try:
        assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "truncate"
        assert len(Clinic(store).history(Card(bytes(range(16)))).visits) == 5
        assert store.integrity_check() == "ok"
    finally:
        store.close()
    assert not (tmp_path / "site.db-wal").exists()
    assert not (tmp_path / "site.db-shm").exists()


def test_threads_read_while_others_commit(tmp_path: Path) -> None:
    """Readers and writers on one store's threads: no busy error, no deadlock, every write kept."""
    store = SQLiteStore(tmp_path / "site.db")
    failures: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def write(w: int) -> None:
        try:
            for i in range(40):
                store.put_setting(f"w{w}.{i}", bytes(100))
        except BaseException as exc:  # reported below
            failures.append(exc)

    def read() -> None:
        try:
            while writing.is_set():
                store.get_setting("w0.0")
                store.query("SELECT count(*) FROM settings")
        except BaseException as exc:  # reported below
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    readers = [threading.Thread(target=read) for _ in range(4)]
    try:
        for t in writers + readers:
            t.start()
        for t in writers:
            t.join(60)
        writing.clear()
        for t in readers:
            t.join(60)
        assert not any(t.is_alive() for t in writers + readers), "a thread is stuck"
        assert failures == []
        assert store.query("SELECT count(*) FROM settings WHERE name LIKE 'w%'") == [(120,)]
    finally:
        store.close()
