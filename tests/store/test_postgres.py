"""The PostgreSQL store: migrations, typed errors, a server restart (the Store contract: test_contract.py)."""

from __future__ import annotations

import contextlib

import psycopg
import pytest

from haven.core.records import SealedRecord
from haven.errors import StoreError, StoreFullError
from haven.store import pg_migrations
from haven.store.postgres import PostgresStore, translate_errors
from tests import pg
from tests.pg import PostgresServer

RECORD = SealedRecord(b"l" * 16, b"i" * 16, b"s" * 300)


def test_migrations_are_versioned_and_recorded(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    assert store.schema_version() == pg_migrations.LATEST
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert pg_migrations.migrate(conn, "SELECT 1") == []  # nothing left to apply
        assert conn.execute("SELECT count(*) FROM haven_schema").fetchone() == (1,)
    versions = [m.version for m in pg_migrations.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    PostgresStore(postgres_url).close()  # opening again changes nothing


def test_newer_database_is_refused(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE haven_schema SET version = %s", (pg_migrations.LATEST + 1,))
    with pytest.raises(StoreError, match=r"Upgrade"):
        PostgresStore(postgres_url)


def test_an_unreachable_server_is_a_store_error_that_does_not_repeat_the_url() -> None:
    with pytest.raises(StoreError, match="cannot be used") as caught:
        PostgresStore("postgresql://hub:s3cret-word@127.0.0.1:1/haven?connect_timeout=2")
    assert "s3cret-word" not in str(caught.value)


def test_driver_errors_become_typed_errors() -> None:
    from psycopg import errors as pgerrors

    with pytest.raises(StoreFullError), translate_errors():
        raise pgerrors.DiskFull("could not extend file: No space left on device")
    with pytest.raises(StoreError, match="busy"), translate_errors():
        raise pgerrors.SerializationFailure("could not serialize access")
    with pytest.raises(StoreError, match="conflicts"), translate_errors():
        raise pgerrors.UniqueViolation("duplicate key value violates unique constraint")


def test_the_store_carries_on_after_the_server_restarts(postgres: PostgresServer) -> None:
    """A hub restart loses nothing acknowledged, and the store reconnects by itself."""
    store = PostgresStore(postgres.new_database())
    store.add([RECORD], [])
    postgres.restart()
    with contextlib.suppress(StoreError):  # the one operation that meets the dropped connection fails, typed
        store.count()
    assert store.count() == 1 and store.find([RECORD.locator]) == [RECORD]
    store.put_setting("after", b"restart")
    assert store.get_setting("after") == b"restart"
    store.close()


def test_without_the_server_binaries_the_test_server_names_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg, "server_binaries", lambda: None)
    with pytest.raises(RuntimeError, match="apt-get install postgresql"), pg.running_server():
        pass
