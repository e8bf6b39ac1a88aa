"""A store on PostgreSQL (psycopg 3): the hub's, and any site's that wants a database server.

Same tables and semantics as the SQLite store (see ``base.py``); the schema comes from numbered
migrations (``pg_migrations.py``). ``PostgresStore(url)`` takes a libpq URL or connection string
(``postgresql://user@host:port/dbname``); the password, if any, comes from the URL, ``PGPASSWORD`` or
``~/.pgpass``, and no message of this module repeats the URL.

Transactions: every write runs in a transaction that first takes one transaction-level advisory
lock (``pg_advisory_xact_lock``), so writers (threads or processes, on any host) queue and no other
writer commits in between; readers are never blocked. Reads outside a transaction are single
autocommit statements; inside one they join it, on the same connection.

Threads: every thread gets its own connection (opened on first use, reopened if the server dropped
it). Closing follows the SQLite store: marked closed at once, connections closed when the operations
in flight end (``inflight.py``).

Durability is the server's: with its defaults (``fsync``, ``synchronous_commit = on``) a commit
that returned survives a crash of the server or the machine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from haven.core.records import SealedRecord
from haven.errors import StoreError, StoreFullError
from haven.store.base import CONFLICT, SealedTally, Table
from haven.store.inflight import ThreadConnections
from haven.store.pg_migrations import migrate, schema_version
from haven.store.sql import SqlTables
from haven.sync.buckets import Bucket, bucket_of

# The advisory lock every write transaction takes (any fixed 64-bit number: "haven" in ASCII).
WRITE_LOCK_KEY = 0x686176656E
_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"

# Above every 16-byte locator: the end of the last bucket's range.
_END = b"\xff" * 17


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn driver errors into Haven's store errors, with a sentence a person can act on."""
    try:
        yield
    except pgerrors.UniqueViolation:
        raise StoreError(CONFLICT) from None
    except (pgerrors.DiskFull, pgerrors.OutOfMemory):
        raise StoreFullError("The database server is out of space; nothing of this change was saved.") from None
    except (pgerrors.SerializationFailure, pgerrors.DeadlockDetected, pgerrors.LockNotAvailable):
        raise StoreError("The database is busy; try again.") from None
    except psycopg.OperationalError as exc:
        raise StoreError(f"The database server cannot be used: {_first_line(exc)}.") from None
    except psycopg.Error as exc:
        raise StoreError(f"The database could not be used: {_first_line(exc)}.") from None


class PostgresStore(ThreadConnections, SqlTables):
    """A site's (or the hub's) records, tallies, settings, staff and audit rows in one PostgreSQL database."""

    PLACEHOLDER = "%s"

    def __init__(self, url: str) -> None:
        self._url = url
        super().__init__()
        self._local = threading.local()
        try:
            with self._using(), translate_errors():
                migrate(self._conn(), _LOCK)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ connections

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or conn.broken) and not getattr(self._local, "writing", False):
            self._drop(conn)
            conn = None  # the server went away and came back: start again
        if conn is None:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
            self._local.conn = conn
            self._keep(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        if getattr(self._local, "writing", False):
            yield self._conn()  # already inside this thread's transaction: join it
            return
        with self._using(), translate_errors():
            conn = self._conn()
            with conn.transaction():
                conn.execute(_LOCK)
                self._local.writing = True
                try:
                    yield conn
                finally:
                    self._local.writing = False

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._using(), translate_errors():
            return self._conn().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction on this thread's connection, under the write lock; commits when the
        outermost block ends, rolls back if it raises. Reads and writes inside it join it."""
        with self._write():
            yield

    def schema_version(self) -> int:
        with self._using(), translate_errors():
            return schema_version(self._conn())

    def tune_for_bulk(self, cache_mib: int = 256) -> None:
        pass  # the server's buffers are its own

    def tables(self) -> list[Table]:
        out = [
            Table(
                "columns",
                ("table_name", "column_name", "data_type"),
                self._rows(
                    "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns"
                    " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
                ),
            )
        ]
        names = [r[0] for r in self._rows("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()")]
        with self._using(), translate_errors():
            conn = self._conn()
            for name in sorted(names):
                cursor = conn.execute(f'SELECT * FROM "{name}"')  # (names from the catalog)
                columns = tuple(d.name for d in cursor.description or ())
                out.append(Table(name, columns, [tuple(_plain(v) for v in row) for row in cursor.fetchall()]))
        return out

    # ------------------------------------------------------------ records

    def add(self, records: Sequence[SealedRecord], tallies: Sequence[SealedTally]) -> None:
        with self._write() as conn:
            cursor = conn.cursor()
            if records:
                # In key order: consecutive inserts land on neighbouring B-tree pages.
                with cursor.copy("COPY records (locator, id, sealed) FROM STDIN") as copy:
                    for row in sorted((r.locator, r.id, r.sealed) for r in records):
                        copy.write_row(row)
                self._bump_buckets(conn, [(r.locator, r.id) for r in records])
            if tallies:
                cursor.executemany("INSERT INTO tallies (id, sealed) VALUES (%s, %s)", [tuple(t) for t in tallies])

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        if not locators:
            return []
        rows = self._rows(
            "SELECT locator, id, sealed FROM records WHERE locator = ANY(%s)", ([bytes(x) for x in locators],)
        )
        return [SealedRecord(bytes(a), bytes(b), bytes(c)) for a, b, c in rows]

    def merge(self, records: Iterable[SealedRecord]) -> int:
        """Union with ``records`` in one transaction: a binary COPY into a temporary staging table, then one
        ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` in key order, and the touched buckets' digests
        updated in two statements (not one per row or per bucket)."""
        keys: list[tuple[bytes, bytes]] = []
        with self._write() as conn:
            cursor = conn.cursor()
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming (locator BYTEA, id BYTEA, sealed BYTEA) ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE incoming")  # (a merge earlier in this transaction may have left rows)
            with cursor.copy("COPY incoming (locator, id, sealed) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["bytea", "bytea", "bytea"])
                for r in records:
                    copy.write_row((r.locator, r.id, r.sealed))
                    keys.append((r.locator, r.id))
            cursor.execute(
                "INSERT INTO records (locator, id, sealed) SELECT locator, id, sealed FROM incoming"
                " ORDER BY locator, id ON CONFLICT DO NOTHING"
            )
            added = int(cursor.rowcount)
            cursor.execute("TRUNCATE incoming")
            if added == len(keys):  # all new: their digests are XORed in (haven/sync/buckets.py)
                self._bump_buckets(conn, keys)
            elif added:  # some were here already: the touched buckets are recomputed from their rows
                self._recompute_buckets(conn, {bucket_of(locator) for locator, _ in keys})
            return added

    # ------------------------------------------------------------ sync: set-wise, one statement each

    def _current_buckets(self, conn: Any, buckets: Sequence[int]) -> dict[int, Bucket]:
        rows = conn.execute(
            "SELECT bucket, digest, count FROM sync_buckets WHERE bucket = ANY(%b)", (list(buckets),)
        ).fetchall()
        return {int(b): Bucket(bytes(d), int(n)) for b, d, n in rows}

    def _store_buckets(self, conn: Any, nodes: dict[int, Bucket]) -> None:
        ordered = sorted(nodes.items())
        conn.execute(
            "INSERT INTO sync_buckets (bucket, digest, count)"
            " SELECT * FROM unnest(%b::integer[], %b::bytea[], %b::bigint[])"
            " ON CONFLICT (bucket) DO UPDATE SET digest = excluded.digest, count = excluded.count",
            ([b for b, _ in ordered], [n.digest for _, n in ordered], [n.rows for _, n in ordered]),
        )

    def _bucket_keys(self, conn: Any, buckets: Sequence[int]) -> list[tuple[bytes, bytes]]:
        sql, params = bucket_ranges("r.locator, r.id", buckets)
        return [(bytes(a), bytes(b)) for a, b in conn.execute(sql, params).fetchall()]

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        """Every record in ``buckets``, in one statement (an index range scan per bucket)."""
        if not buckets:
            return []
        rows = self._rows(*bucket_ranges("r.locator, r.id, r.sealed", buckets))
        return [SealedRecord(bytes(a), bytes(b), bytes(c)) for a, b, c in rows]

    # ------------------------------------------------------------ settings

    def setting_names(self, prefix: str = "") -> list[str]:
        rows = self._rows("SELECT name FROM settings WHERE starts_with(name, %s) ORDER BY name", (prefix,))
        return [str(r[0]) for r in rows]

    # ------------------------------------------------------------ older schemas

    def legacy_rows(self, table: str) -> list[tuple[Any, ...]] | None:
        return None  # this store began after the schemas that left such tables

    def drop_legacy(self, table: str) -> None:
        pass


def bucket_ranges(columns: str, buckets: Sequence[int]) -> tuple[str, tuple[list[bytes], list[bytes]]]:
    """One statement selecting ``columns`` of ``r``, the records of ``buckets``, in key order: a
    locator range per bucket, joined laterally so each is one index range scan."""
    ordered = sorted(set(buckets))
    lows = [b.to_bytes(2, "big") for b in ordered]
    highs = [(b + 1).to_bytes(2, "big") if b < 0xFFFF else _END for b in ordered]
    sql = f"""SELECT {columns} FROM unnest(%b::bytea[], %b::bytea[]) AS b(low, high)
               CROSS JOIN LATERAL (SELECT locator, id, sealed FROM records
                                   WHERE locator >= b.low AND locator < b.high ORDER BY locator, id) AS r"""
    return sql, (lows, highs)


def _plain(value: Any) -> Any:
    """Column values as the SQLite store shows them (bytes, not memoryview)."""
    return bytes(value) if isinstance(value, memoryview) else value
