"""The SQLite store: migrations and typed errors (the Store contract: tests/store/test_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.errors import StoreCorruptError, StoreError, StoreFullError
from haven.store import migrations
from haven.store.sqlite import SQLiteStore, translate_errors


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
