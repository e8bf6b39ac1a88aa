"""Acknowledged visits survive a killed process; the SQLite settings behind that promise hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from haven.core.card import Card
from haven.services import Clinic
from haven.store.sqlite import SQLiteStore

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from haven.core.card import Card
    from haven.services import Clinic
    from haven.store.sqlite import SQLiteStore

    store = SQLiteStore(Path(sys.argv[1]))
    clinic = Clinic(store)
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
