"""Closing a store while other threads use it (a server locking mid-request): no crash, no reopening,
and a transaction begun before the close commits or rolls back as a whole."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from haven.core.records import SealedRecord
from haven.errors import AuthError, StoreClosedError
from haven.store.sqlite import SQLiteStore
from haven.web.handlers import http_status

KEY = bytes(range(32))
# A query that runs for a while inside SQLite (the thread is in sqlite3_step, without the GIL).
LONG_QUERY = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) FROM n"


def test_closing_while_another_thread_is_inside_a_query_lets_it_finish_instead_of_crashing(tmp_path: Path) -> None:
    """Closing a connection under a thread stepping a statement on it killed the process (SIGSEGV),
    at some moments of the query and not others: several rounds, each closing at another moment, in a
    process of its own (a crash is an exit status, not the end of the test run)."""
    script = textwrap.dedent(
        f"""
        import sys, threading, time
        from pathlib import Path
        from haven.errors import StoreClosedError
        from haven.store.sqlite import SQLiteStore

        for round in range(8):
            store = SQLiteStore(Path(sys.argv[1]) / f"{{round}}.db", key={KEY!r})
            store.count()
            inside = threading.Event()
            result = []

            def long_read():
                inside.set()
                result.append(store.query({LONG_QUERY!r}))

            reader = threading.Thread(target=long_read)
            reader.start()
            inside.wait()
            time.sleep(0.01 + 0.03 * round)  # the reader is inside SQLite now
            store.close()
            reader.join()
            try:
                store.count()
            except StoreClosedError:
                print(result[0][0][0], "closed")
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.splitlines() == ["3000000 closed"] * 8


def test_a_closed_store_never_opens_its_file_again(tmp_path: Path) -> None:
    """After close the key is gone: no thread (one that had a connection, or a new one) gets one again."""
    store = SQLiteStore(tmp_path / "site.db", key=KEY)
    store.put_setting("x", b"1")
    other: list[BaseException] = []

    def use() -> None:
        try:
            store.count()
        except BaseException as exc:
            other.append(exc)

    store.close()
    assert store.closed and store.wait_closed(0)
    with pytest.raises(StoreClosedError) as raised:
        store.get_setting("x")
    assert isinstance(raised.value, AuthError) and http_status(raised.value) == 401  # answered as signed out
    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(other) == 1 and isinstance(other[0], StoreClosedError)
    with pytest.raises(StoreClosedError), store.transaction():
        pass


def test_a_transaction_begun_before_the_close_commits_as_a_whole(tmp_path: Path) -> None:
    """A request that is storing a visit when the site locks finishes storing it (the change and its
    audit entry together), and the connections close when it ends."""
    store = SQLiteStore(tmp_path / "site.db", key=KEY)
    record = SealedRecord(b"L" * 16, b"I" * 16, b"sealed")
    began, closed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with store.transaction():
                store.add([record], [])
                began.set()
                closed.wait(10)
                store.put_setting("audit", b"entry")  # inside the same transaction: joins it
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    began.wait(10)
    store.close()
    assert not store.wait_closed(0.05)  # the write is still in flight: its connection stays open
    closed.set()
    writer.join(10)
    assert errors == []
    assert store.wait_closed(5)
    again = SQLiteStore(tmp_path / "site.db", key=KEY)
    assert again.find([record.locator]) == [record]
    assert again.get_setting("audit") == b"entry"
    again.close()
