"""Versioned schema migrations for the SQLite store.

The schema version lives in ``PRAGMA user_version``. Each migration runs once,
in its own transaction, in order; a database newer than this code is refused
rather than guessed at. Never edit a shipped migration: add the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from haven.errors import StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Any], None]


def _v1(conn: Any) -> None:
    conn.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
    conn.execute(
        """CREATE TABLE records (
               locator BLOB NOT NULL,
               id      BLOB NOT NULL,
               sealed  BLOB NOT NULL,
               PRIMARY KEY (locator, id)
           ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE aggregates (
               week     INTEGER NOT NULL,
               kind     INTEGER NOT NULL,
               code     INTEGER NOT NULL,
               detail   INTEGER NOT NULL,
               age_band INTEGER NOT NULL,
               count    INTEGER NOT NULL,
               PRIMARY KEY (week, kind, code, detail, age_band)
           ) WITHOUT ROWID"""
    )


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "settings, records and aggregates", _v1),)

LATEST = MIGRATIONS[-1].version


def schema_version(conn: Any) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Any) -> list[int]:
    """Bring the schema to ``LATEST``; return the versions applied."""
    current = schema_version(conn)
    if current > LATEST:
        raise StoreError(
            f"This site's database has schema version {current}; this Haven knows up to {LATEST}. Upgrade Haven."
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {migration.version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
