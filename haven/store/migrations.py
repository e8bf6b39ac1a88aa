"""Versioned schema migrations for the SQLite store.

The schema version lives in ``PRAGMA user_version``. Each migration runs once,
in its own transaction, in order; a database newer than this code is refused
rather than guessed at. Never edit a shipped migration: add the next one.
"""

from __future__ import annotations

import contextlib
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


def _v2(conn: Any) -> None:
    """Reserved for the certificates work (merged separately); nothing to do here."""


def _v3(conn: Any) -> None:
    # Staff accounts: names and roles live only here, inside the encrypted database.
    # Every account owns two key slots (its passphrase's, and a duress or random one):
    # nothing here says which is which, or whether a duress passphrase exists.
    conn.execute(
        """CREATE TABLE staff (
               id      BLOB PRIMARY KEY,
               name    TEXT,
               roles   INTEGER NOT NULL,
               slot_a  INTEGER,
               slot_b  INTEGER,
               added   TEXT NOT NULL,
               removed TEXT
           ) WITHOUT ROWID"""
    )
    conn.execute("CREATE UNIQUE INDEX staff_name ON staff (name) WHERE removed IS NULL")
    # Who did what, never to whom: hash-chained (see haven/site/audit.py).
    conn.execute(
        """CREATE TABLE audit (
               seq    INTEGER PRIMARY KEY,
               at     TEXT NOT NULL,
               staff  BLOB NOT NULL,
               action TEXT NOT NULL,
               count  INTEGER NOT NULL,
               hash   BLOB NOT NULL
           )"""
    )


def _v4(conn: Any) -> None:
    # Staff records and audit entries sealed to coordinators (haven/site/rolekeys.py): only the
    # random id, whether the account was removed, and each entry's number and hash stay in the clear.
    # A site made before keeps its old tables (renamed, read until a coordinator converts them).
    legacy = conn.execute("SELECT count(*) FROM staff").fetchone()[0]
    conn.execute("DROP INDEX staff_name")
    if legacy:
        conn.execute("ALTER TABLE staff RENAME TO staff_v3")
        conn.execute("ALTER TABLE audit RENAME TO audit_v3")
    else:
        conn.execute("DROP TABLE staff")
        conn.execute("DROP TABLE audit")
    conn.execute("CREATE TABLE staff (id BLOB PRIMARY KEY, sealed BLOB, removed TEXT) WITHOUT ROWID")
    conn.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, sealed BLOB NOT NULL, hash BLOB NOT NULL)")


def _v5(conn: Any) -> None:
    # Counters sealed to coordinators as tallies (haven/site/tallies.py): a random id and the sealed
    # bytes, clustered by id so that nothing records the order they were added in. The counters of a
    # site made before cannot be sealed here (that takes the site's public key, a site matter): they
    # are kept as ``aggregates_v4`` until the next unlock seals them into one tally and drops them.
    if conn.execute("SELECT count(*) FROM aggregates").fetchone()[0]:
        conn.execute("ALTER TABLE aggregates RENAME TO aggregates_v4")
    else:
        conn.execute("DROP TABLE aggregates")
    conn.execute("CREATE TABLE tallies (id BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID")


def _v6(conn: Any) -> None:
    """Reserved for the storage work (merged separately); nothing to do here."""


def _v7(conn: Any) -> None:
    # Sync: one digest per bucket of the locator space (haven/sync/buckets.py), kept with the rows.
    from haven.sync.buckets import apply, deltas

    # Rerunnable (a database whose version was set back keeps the table): the digests are recomputed.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sync_buckets"
        " (bucket INTEGER PRIMARY KEY, digest BLOB NOT NULL, count INTEGER NOT NULL)"
    )
    conn.execute("DELETE FROM sync_buckets")
    keys = ((bytes(a), bytes(b)) for a, b in conn.execute("SELECT locator, id FROM records").fetchall())
    filled = apply({}, deltas(keys))
    conn.executemany(
        "INSERT INTO sync_buckets (bucket, digest, count) VALUES (?, ?, ?)",
        [(b, node.digest, node.rows) for b, node in sorted(filled.items())],
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "settings, records and aggregates", _v1),
    Migration(2, "reserved: certificates", _v2),
    Migration(3, "staff accounts and the audit log", _v3),
    Migration(4, "staff records and audit entries sealed to coordinators", _v4),
    Migration(5, "counters sealed to coordinators as tallies", _v5),
    Migration(6, "reserved: storage", _v6),
    Migration(7, "sync: bucket digests over the locator space", _v7),
)

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
            # SQLite may already have rolled back (a full disk does that): never hide the real error.
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
