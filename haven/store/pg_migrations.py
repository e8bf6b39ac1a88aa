"""Versioned schema migrations for the PostgreSQL store.

The schema version lives in the one-row table ``haven_schema``. Each migration runs once, in its own
transaction, in order, under the store's write lock (so two processes opening one database at once
apply it once); a database newer than this code is refused rather than guessed at. Never edit a
shipped migration: add the next one. The numbers are this store's own: its first schema is what the
SQLite store reached in five steps, without the tables kept for older sites.
"""

from __future__ import annotations

from typing import Any

from haven.errors import StoreError
from haven.store.migrations import Migration


def _v1(conn: Any) -> None:
    # Setting names compare byte by byte (COLLATE "C"), whatever the database's locale.
    conn.execute('CREATE TABLE settings (name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL)')
    conn.execute(
        """CREATE TABLE records (
               locator BYTEA NOT NULL,
               id      BYTEA NOT NULL,
               sealed  BYTEA NOT NULL,
               PRIMARY KEY (locator, id)
           )"""
    )
    conn.execute("CREATE TABLE tallies (id BYTEA PRIMARY KEY, sealed BYTEA NOT NULL)")
    conn.execute("CREATE TABLE staff (id BYTEA PRIMARY KEY, sealed BYTEA, removed TEXT)")
    conn.execute("CREATE TABLE audit (seq BIGINT PRIMARY KEY, sealed BYTEA NOT NULL, hash BYTEA NOT NULL)")


def _v2(conn: Any) -> None:
    # Sync: one digest per bucket of the locator space (haven/sync/buckets.py), kept with the rows.
    from haven.sync.buckets import apply, deltas

    conn.execute("CREATE TABLE sync_buckets (bucket INTEGER PRIMARY KEY, digest BYTEA NOT NULL, count BIGINT NOT NULL)")
    keys = ((bytes(a), bytes(b)) for a, b in conn.execute("SELECT locator, id FROM records").fetchall())
    filled = apply({}, deltas(keys))
    conn.cursor().executemany(
        "INSERT INTO sync_buckets (bucket, digest, count) VALUES (%s, %s, %s)",
        [(b, node.digest, node.rows) for b, node in sorted(filled.items())],
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "settings, records, tallies, staff and the audit log", _v1),
    Migration(2, "sync: bucket digests over the locator space", _v2),
)

LATEST = MIGRATIONS[-1].version


def schema_version(conn: Any) -> int:
    row = conn.execute("SELECT version FROM haven_schema").fetchone()
    return 0 if row is None else int(row[0])


def migrate(conn: Any, lock: str) -> list[int]:
    """Bring the schema to ``LATEST`` on an autocommit connection; ``lock`` is the statement that takes the
    store's write lock inside a transaction. Returns the versions applied."""
    with conn.transaction():
        conn.execute(lock)
        conn.execute("CREATE TABLE IF NOT EXISTS haven_schema (version INTEGER NOT NULL)")
        current = schema_version(conn)
        if current == 0 and conn.execute("SELECT count(*) FROM haven_schema").fetchone()[0] == 0:
            conn.execute("INSERT INTO haven_schema (version) VALUES (0)")
    if current > LATEST:
        raise StoreError(f"This database has schema version {current}; this Haven knows up to {LATEST}. Upgrade Haven.")
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        with conn.transaction():
            conn.execute(lock)
            if schema_version(conn) >= migration.version:  # another process applied it meanwhile
                continue
            migration.apply(conn)
            conn.execute("UPDATE haven_schema SET version = %s", (migration.version,))
        applied.append(migration.version)
    return applied
