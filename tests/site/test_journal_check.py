"""Haven reads a hot rollback journal before SQLite plays it back, and refuses a damaged one.

SQLite takes a failed checksum or a short journal as its end and plays back only what came before,
and trusts page numbers and the original size as written: each of those would leave the main file
silently torn. The journal here is real: a writer killed while its commit had written part of the
main file (tests/site/test_no_history.py)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from haven.store import journal
from haven.store.sqlite import SQLiteStore
from tests.site.test_no_history import REPO, _run_then_copy


@pytest.fixture(scope="module")
def hot(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, bytes]:
    """(the master key, the database's salt, a hot journal)."""
    key, _, killed = _run_then_copy(tmp_path_factory.mktemp("hot"), "writing the main file")
    data = (killed / "site.db-journal").read_bytes()
    assert data[:8] == journal.MAGIC and struct.unpack_from(">I", data, 8)[0] > 0
    return key, (killed / "site.db").read_bytes()[:16], data


def _flip(data: bytes, at: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[at] ^= 1 << bit
    return bytes(out)


@pytest.mark.slow
def test_a_whole_journal_passes_and_every_flipped_bit_that_matters_is_caught(hot: tuple[bytes, bytes, bytes]) -> None:
    key, salt, data = hot
    pages = journal._Pages(key, salt)
    assert journal.problem(data, pages) is None
    count, sector, page_size = struct.unpack_from(">I", data, 8)[0], *struct.unpack_from(">II", data, 20)
    end = sector + count * (page_size + 8)
    for at in [*range(28), *range(sector, end)]:  # the header's fields, then every byte of every record
        for bit in (0, 7):
            assert journal.problem(_flip(data, at, bit), pages) is not None, (at, bit)
    for at in range(28, sector, 37):  # the rest of the header's sector is padding, unread by SQLite
        assert journal.problem(_flip(data, at), pages) is None


@pytest.mark.slow
def test_a_journal_cut_short_is_caught(hot: tuple[bytes, bytes, bytes]) -> None:
    key, salt, data = hot
    pages = journal._Pages(key, salt)
    count, sector, page_size = struct.unpack_from(">I", data, 8)[0], *struct.unpack_from(">II", data, 20)
    end = sector + count * (page_size + 8)
    for length in [1, 8, 27, sector, sector + 5, *range(sector + 4100, end, 1001), end - 1]:
        assert journal.problem(data[:length], pages) is not None, length
    assert journal.problem(data[:end], pages) is None  # every synced record is there


def test_an_empty_or_unsynced_journal_is_left_to_sqlite(tmp_path: Path) -> None:
    pages = journal._Pages(bytes(32), bytes(16))
    assert journal.problem(b"", pages) is None
    assert journal.problem(bytes(12) + b"\x01" * 5000, pages) is None  # SQLite ignores it
    assert journal.problem(b"\x01" + bytes(5000), pages) is not None
    journal.check(tmp_path / "absent.db", None)  # no journal: nothing to check


_PLAIN_CHILD = """
import os, sys, time
from haven.store.sqlite import SQLiteStore

store = SQLiteStore(__import__("pathlib").Path(sys.argv[1]))  # no key: plain SQLite
store.put_setting("probe", b"before")
conn = store._conn()
conn.execute("PRAGMA cache_spill = ON")  # as if killed while COMMIT writes the main file
conn.execute("PRAGMA cache_size = 8")
conn.execute("BEGIN IMMEDIATE")
rows = [(os.urandom(32), b"i", os.urandom(300)) for _ in range(2000)]
conn.executemany("INSERT INTO records VALUES (?, ?, ?)", rows)
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_plain_databases_hot_journal_is_checked_too(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    child = subprocess.Popen([sys.executable, "-c", _PLAIN_CHILD, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    data = (tmp_path / "plain.db-journal").read_bytes()
    assert data[:8] == journal.MAGIC
    pages = journal._Pages(None, b"")
    assert journal.problem(data, pages) is None
    assert journal.problem(_flip(data, 512 + 1), pages) is not None  # a page number
    assert journal.problem(data[:600], pages) is not None
    store = SQLiteStore(db)  # the whole journal is played back
    try:
        assert store.get_setting("probe") == b"before" and store.count() == 0
        assert store.integrity_check() == "ok"
    finally:
        store.close()
