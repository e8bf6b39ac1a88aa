"""The hub's tables on PostgreSQL (psycopg 3): sealed rows, the roster, and nothing that groups a push.

Tables: ``records(locator, id, sealed)`` (the same rows every site keeps, primary key ``(locator, id)``),
``sync_buckets(bucket, digest, count)`` (each locator bucket's digest, kept up to date in the merge's
transaction as every store keeps it: haven/sync/buckets.py) and ``settings(name, value)`` (the roster,
the root it is signed by, a flag saying a reshuffle is due). No row records where it came from or when.

PostgreSQL keeps a table's rows in arrival order and stamps each with the id of the transaction that
inserted it (``ctid``, ``xmin``), so a push's rows would sit together under one id. After pushes the
hub therefore *reshuffles*: in one transaction it copies every row aside, empties the table and writes
them back in locator order, and the buckets in bucket order (:meth:`HubDatabase.reshuffle`):
afterwards every row has the same ``xmin`` and its place follows its random locator. Until then the
rows of pushes since the last reshuffle are grouped (the server reshuffles a few seconds after the
last push; docs/sync.md, "Hub").
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from haven.core.records import SealedRecord
from haven.errors import HubError, StoreError
from haven.store.base import Table
from haven.sync.buckets import Bucket, apply, deltas

ROSTER = "roster"
ROOT = "root"
RESHUFFLE_DUE = "reshuffle-due"

# Numbered migrations: each runs once, in order, in its own transaction; never edit a shipped one.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """CREATE TABLE records (locator bytea NOT NULL, id bytea NOT NULL, sealed bytea NOT NULL,
                                 PRIMARY KEY (locator, id));
           CREATE TABLE sync_buckets (bucket integer PRIMARY KEY, digest bytea NOT NULL, count bigint NOT NULL);
           CREATE TABLE settings (name text PRIMARY KEY, value bytea NOT NULL)""",
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as exc:
        raise StoreError(f"Cannot reach the hub's database: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# Above every 16-byte locator: the end of the last bucket's range.
_END = b"\xff" * 17


def _bucket_ranges(buckets: Sequence[int]) -> tuple[list[bytes], list[bytes]]:
    """Each leaf bucket's locators ``[low, high)``: from its first two bytes to the next bucket's."""
    ordered = sorted(set(buckets))
    return [b.to_bytes(2, "big") for b in ordered], [
        (b + 1).to_bytes(2, "big") if b < 0xFFFF else _END for b in ordered
    ]


@dataclass
class HubDatabase:
    """The hub's tables over a small pool of connections (the server answers on several threads)."""

    url: str
    pool_size: int = 8
    _idle: queue.LifoQueue[psycopg.Connection[Any]] = field(default_factory=queue.LifoQueue, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = _connect(self.url)
        try:
            yield conn
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"The hub's database refused a change: {_first_line(exc)}") from None
        except BaseException:
            conn.close()
            raise
        if conn.closed or conn.broken:
            return
        if self._idle.qsize() < self.pool_size:
            self._idle.put(conn)
        else:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # ------------------------------------------------------------ schema

    def schema_version(self) -> int:
        with self.transaction() as cur:
            cur.execute("SELECT to_regclass('haven_schema') IS NOT NULL")
            row = cur.fetchone()
            if not row or not row[0]:
                return 0
            cur.execute("SELECT version FROM haven_schema")
            found = cur.fetchone()
            return int(found[0]) if found else 0

    def migrate(self) -> int:
        """Bring the schema to this code's version; a newer one is refused. Returns the version."""
        with self.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS haven_schema (version integer NOT NULL)")
            cur.execute("LOCK TABLE haven_schema IN ACCESS EXCLUSIVE MODE")
            cur.execute("SELECT version FROM haven_schema")
            row = cur.fetchone()
            if row is None:
                cur.execute("INSERT INTO haven_schema VALUES (0)")
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"The hub's database has schema {version}, newer than this Haven ({SCHEMA_VERSION}).")
            for number, sql in MIGRATIONS:
                if number > version:
                    for statement in sql.split(";"):
                        cur.execute(statement.encode())
                    cur.execute("UPDATE haven_schema SET version = %s", (number,))
        return SCHEMA_VERSION

    def check_schema(self) -> None:
        found = self.schema_version()
        if found != SCHEMA_VERSION:
            raise HubError(
                f"The hub's database has schema {found}, not {SCHEMA_VERSION}: run 'haven hub init' first.",
                problem="schema",
            )

    # ------------------------------------------------------------ settings

    def get_setting(self, name: str) -> bytes | None:
        with self.transaction() as cur:
            cur.execute("SELECT value FROM settings WHERE name = %s", (name,))
            row = cur.fetchone()
            return bytes(row[0]) if row else None

    def put_settings(self, values: dict[str, bytes]) -> None:
        """Store settings, all or nothing."""
        with self.transaction() as cur:
            for name, value in values.items():
                cur.execute(
                    "INSERT INTO settings VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                    (name, value),
                )

    # ------------------------------------------------------------ rows

    def merge(self, rows: Sequence[SealedRecord]) -> int:
        """Union with ``rows`` in one transaction, their buckets' digests updated in it; returns how many
        were new. Idempotent. The rows go in locator order, and a reshuffle is marked due."""
        if not rows:
            return 0
        ordered = sorted(rows, key=lambda r: (r.locator, r.id))
        with self.transaction() as cur:
            cur.execute("LOCK TABLE sync_buckets IN EXCLUSIVE MODE")  # one merge at a time moves the digests
            cur.execute(
                """INSERT INTO records (locator, id, sealed)
                   SELECT * FROM unnest(%s::bytea[], %s::bytea[], %s::bytea[])
                   ON CONFLICT DO NOTHING RETURNING locator, id""",
                ([r.locator for r in ordered], [r.id for r in ordered], [r.sealed for r in ordered]),
            )
            change = deltas((bytes(a), bytes(b)) for a, b in cur.fetchall())
            if not change:
                return 0
            cur.execute("SELECT bucket, digest, count FROM sync_buckets WHERE bucket = ANY(%s)", (sorted(change),))
            current = {int(b): Bucket(bytes(d), int(n)) for b, d, n in cur.fetchall()}
            moved = sorted(apply(current, change).items())
            cur.execute(
                """INSERT INTO sync_buckets (bucket, digest, count)
                   SELECT * FROM unnest(%s::integer[], %s::bytea[], %s::bigint[])
                   ON CONFLICT (bucket) DO UPDATE SET digest = EXCLUDED.digest, count = EXCLUDED.count""",
                ([b for b, _ in moved], [n.digest for _, n in moved], [n.rows for _, n in moved]),
            )
            cur.execute("INSERT INTO settings VALUES (%s, '\\x01') ON CONFLICT (name) DO NOTHING", (RESHUFFLE_DUE,))
        return sum(n.rows for n in change.values())

    def sync_buckets(self, buckets: Sequence[int] | None = None) -> dict[int, Bucket]:
        """The digest and count of every non-empty bucket among ``buckets`` (None: all of them)."""
        with self.transaction() as cur:
            if buckets is None:
                cur.execute("SELECT bucket, digest, count FROM sync_buckets WHERE count > 0")
            else:
                cur.execute(
                    "SELECT bucket, digest, count FROM sync_buckets WHERE count > 0 AND bucket = ANY(%s)",
                    (list(buckets),),
                )
            return {int(b): Bucket(bytes(d), int(n)) for b, d, n in cur.fetchall()}

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        """Every record whose locator falls in one of ``buckets``."""
        if not buckets:
            return []
        with self.transaction() as cur:
            cur.execute(  # one index range scan per bucket
                """SELECT r.locator, r.id, r.sealed FROM unnest(%s::bytea[], %s::bytea[]) AS b(low, high)
                   CROSS JOIN LATERAL (SELECT locator, id, sealed FROM records
                                       WHERE locator >= b.low AND locator < b.high) AS r""",
                _bucket_ranges(buckets),
            )
            return [SealedRecord(bytes(a), bytes(b), bytes(c)) for a, b, c in cur.fetchall()]

    def count(self) -> int:
        with self.transaction() as cur:
            cur.execute("SELECT count(*) FROM records")
            row = cur.fetchone()
            return int(row[0]) if row else 0

    # ------------------------------------------------------------ reshuffling

    def reshuffle_due(self) -> bool:
        return self.get_setting(RESHUFFLE_DUE) is not None

    def reshuffle(self) -> int:
        """Rewrite every row in locator order in one transaction, so that no row's place or ``xmin``
        tells which rows arrived together. Pushes wait meanwhile; readers too. Returns the row count."""
        with self.transaction() as cur:
            cur.execute("LOCK TABLE sync_buckets, records IN ACCESS EXCLUSIVE MODE")
            cur.execute("CREATE TEMPORARY TABLE records_aside ON COMMIT DROP AS SELECT * FROM records")
            cur.execute("CREATE TEMPORARY TABLE buckets_aside ON COMMIT DROP AS SELECT * FROM sync_buckets")
            cur.execute("TRUNCATE records, sync_buckets")
            cur.execute("INSERT INTO records SELECT * FROM records_aside ORDER BY locator, id")
            moved = cur.rowcount
            cur.execute("INSERT INTO sync_buckets SELECT * FROM buckets_aside ORDER BY bucket")
            cur.execute("DELETE FROM settings WHERE name = %s", (RESHUFFLE_DUE,))
        return moved

    # ------------------------------------------------------------ seizure

    def tables(self) -> list[Table]:
        """Every table and row, raw, with PostgreSQL's own row place and inserting transaction."""
        out = []
        with self.transaction() as cur:
            for name, columns in (
                ("records", "ctid::text, xmin::text, locator, id, sealed"),
                ("sync_buckets", "ctid::text, xmin::text, bucket, digest, count"),
                ("settings", "ctid::text, xmin::text, name, value"),
                ("haven_schema", "ctid::text, xmin::text, version"),
            ):
                cur.execute(f"SELECT {columns} FROM {name} ORDER BY {name}.ctid")
                heads = tuple(d.name for d in cur.description or ())
                out.append(Table(name, heads, [tuple(row) for row in cur.fetchall()]))
        return out
