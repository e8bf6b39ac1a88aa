"""The SQLite store: the Store contract, migrations and typed errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from haven.core.records import SealedRecord
from haven.errors import StoreCorruptError, StoreError, StoreFullError
from haven.store import migrations
from haven.store.base import SealedTally
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore, translate_errors


def record(n: int, locator: int | None = None) -> SealedRecord:
    loc = (locator if locator is not None else n).to_bytes(16, "big")
    return SealedRecord(loc, n.to_bytes(16, "big"), bytes([n % 256]) * 300)


def tally(n: int) -> SealedTally:
    return SealedTally(n.to_bytes(16, "big"), bytes([n % 256]) * 64)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    s = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "site.db")
    yield s
    s.close()


def test_store_contract(store) -> None:  # type: ignore[no-untyped-def]
    store.add([record(1), record(2, locator=1)], [tally(9)])
    store.add([record(3)], [tally(5), tally(7)])
    assert sorted(r.id for r in store.find([(1).to_bytes(16, "big")])) == [
        (1).to_bytes(16, "big"),
        (2).to_bytes(16, "big"),
    ]
    assert store.find([b"\xff" * 16]) == []
    assert store.tallies() == [tally(5), tally(7), tally(9)]  # in id order, not in the order added
    store.replace_tallies([tally(5).id, tally(9).id], [tally(1)])
    assert store.tallies() == [tally(1), tally(7)]
    assert store.merge([record(3), record(4)]) == 1
    assert store.merge([record(4)]) == 0
    assert len(list(store.records())) == 4
    assert store.get_setting("x") is None
    store.put_setting("x", b"1")
    store.put_setting("x", b"2")
    assert store.get_setting("x") == b"2"
    names = {t.name for t in store.tables()}
    assert {"records", "tallies", "settings"} <= names and "aggregates" not in names


def test_a_transaction_commits_everything_inside_it_or_nothing(store) -> None:  # type: ignore[no-untyped-def]
    key = tally(3)
    with pytest.raises(RuntimeError), store.transaction():
        store.add([record(1)], [key])
        with store.transaction():  # a nested block joins the outer transaction
            store.put_setting("x", b"1")
        assert len(store.find([(1).to_bytes(16, "big")])) == 1  # reads inside see the writes
        raise RuntimeError("the audit entry failed")
    assert list(store.records()) == [] and store.tallies() == [] and store.get_setting("x") is None
    with store.transaction():
        store.add([record(1)], [key])
        with store.transaction():
            store.put_setting("x", b"1")
    assert len(list(store.records())) == 1 and store.tallies() == [key] and store.get_setting("x") == b"1"
    with pytest.raises(RuntimeError), store.transaction():
        store.replace_tallies([key.id], [tally(4)])
        raise RuntimeError("the fold's audit entry failed")
    assert store.tallies() == [key]


def test_find_many_locators(store) -> None:  # type: ignore[no-untyped-def]
    store.merge(record(n) for n in range(600))
    found = store.find([n.to_bytes(16, "big") for n in range(0, 600, 2)])
    assert len(found) == 300


def test_add_is_all_or_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "site.db")
    store.add([record(1)], [])
    with pytest.raises(StoreError):
        store.add([record(2), record(1)], [tally(1)])  # duplicate row: the whole add fails
    assert len(list(store.records())) == 1
    assert store.tallies() == []
    store.close()


def test_threads_share_a_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "site.db")

    def work(base: int) -> None:
        for n in range(50):
            store.add([record(base + n)], [tally(base + n)])
            store.find([record(base + n).locator])

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.records())) == 200
    assert len(store.tallies()) == 200
    store.close()


def test_migrations_are_versioned_and_recorded(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "site.db")
    conn = store._conn()
    assert migrations.schema_version(conn) == migrations.LATEST
    assert migrations.migrate(conn) == []  # nothing left to apply
    store.close()
    versions = [m.version for m in migrations.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_newer_database_is_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "site.db")
    store._conn().execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    store.close()
    with pytest.raises(StoreError, match=r"newer|Upgrade"):
        SQLiteStore(tmp_path / "site.db")


def test_not_a_database_is_a_corrupt_store(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    path.write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(StoreCorruptError):
        SQLiteStore(path)


def test_driver_errors_become_typed_errors() -> None:
    from sqlcipher3 import dbapi2 as sqlite

    with pytest.raises(StoreFullError), translate_errors():
        raise sqlite.OperationalError("database or disk is full")
    with pytest.raises(StoreError, match="busy"), translate_errors():
        raise sqlite.OperationalError("database is locked")
    with pytest.raises(StoreCorruptError), translate_errors():
        raise sqlite.DatabaseError("database disk image is malformed")
