"""The default store: one SQLite database file per site.

Journal: a rollback journal (``journal_mode=TRUNCATE``), never WAL. A WAL keeps
every commit's pages until a checkpoint, so a copy of a running site (or one
left by kill -9) could be replayed commit by commit: each sealed record tied to
its counter increments and audit entry, a removed name brought back. The
rollback journal holds only the page images *before* the commit in flight, and
is emptied (truncated, then synced) before ``COMMIT`` returns; pages are
updated in place in the main file and ``secure_delete`` zeroes freed space, so
a copy taken at any moment holds the last committed state and at most the
pre-images of the commit in flight. SQLCipher encrypts the journal's page
images like the database's.

Durability: ``synchronous=FULL``. At each commit SQLite syncs the journal, then
writes and syncs the main file, then truncates and syncs the journal: a visit
whose ``add`` returned survives a killed process and a power cut, and an
interrupted commit is rolled back from the journal at the next open.

No memory-mapped I/O (no WAL index in a ``-shm`` file, ``mmap_size=0``): a
write into a mapped page that the file system cannot back (a full disk, most
easily with 1 KiB blocks) kills the process with SIGBUS instead of returning an
error. ``cache_spill=OFF`` keeps a transaction's pages in memory until
``COMMIT``, so the main file changes only inside a commit, after its journal is
synced. ``temp_store=MEMORY`` keeps SQLite from writing temporary files.

Threads: every thread gets its own connection; writes are serialised by a lock
and ``BEGIN IMMEDIATE``. A commit needs every reader out of the file: the threads
of one process wait for each other in a readers-writer lock (``rwlock.py``)
rather than in SQLite's sleep-and-retry busy handler. The driver is
``sqlcipher3`` (SQLite with SQLCipher built in; without a key it reads and
writes plain SQLite).

Closing: :meth:`SQLiteStore.close` only marks the store closed and forgets its
key; the connections close when the operations in flight end (``inflight.py``:
closing a connection under a thread that is stepping a statement on it frees
memory that thread is still using, and the process dies with SIGSEGV).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlcipher3 import dbapi2 as sqlite

from haven.core.records import SealedRecord
from haven.errors import StoreClosedError, StoreCorruptError, StoreError, StoreFullError
from haven.store import journal
from haven.store.base import CONFLICT, SealedTally, Table
from haven.store.inflight import ThreadConnections
from haven.store.migrations import migrate, schema_version
from haven.store.rwlock import ReadWriteLock
from haven.store.sql import SqlTables
from haven.sync.buckets import bucket_of

_FIND_CHUNK = 256

# The journal mode and sync level every connection uses (see above). Benchmarks change them to
# measure what the rollback journal costs against WAL; nothing else should. (DELETE mode would
# need EXTRA: it unlinks the journal without syncing the folder, which a power cut can undo.)
JOURNAL_MODE = "truncate"
SYNCHRONOUS = "FULL"


# SQLite may report a write that failed for lack of space as a plain I/O error (while
# creating or growing the journal, for one); with less than this much space left, such
# an error is reported as a full disk.
NEARLY_FULL_BYTES = 256 * 1024


def _nearly_full(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        stat = os.statvfs(path.parent)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < NEARLY_FULL_BYTES


@contextlib.contextmanager
def translate_errors(path: Path | None = None) -> Iterator[None]:
    """Turn driver errors into Haven's store errors, with a sentence a person can act on.

    ``path`` (the database file) lets an I/O error on a nearly full disk be reported as a full disk.
    """
    try:
        yield
    except sqlite.OperationalError as exc:
        text = str(exc).lower()
        if "full" in text or ("disk i/o error" in text and _nearly_full(path)):
            raise StoreFullError("The disk is full; nothing of this change was saved. Free some space.") from None
        if "locked" in text or "busy" in text:
            raise StoreError("The site database is busy; try again.") from None
        if "malformed" in text or "not a database" in text:
            raise StoreCorruptError("The site database is damaged or cannot be read with this key.") from None
        raise StoreError(f"The site database could not be used: {exc}.") from None
    except sqlite.IntegrityError as exc:
        if "full" in str(exc).lower():  # (a trigger may say so: tests make one)
            raise StoreFullError("The disk is full; nothing of this change was saved. Free some space.") from None
        raise StoreError(CONFLICT) from None
    except sqlite.DatabaseError as exc:
        text = str(exc).lower()
        if "full" in text:
            raise StoreFullError("The disk is full; nothing of this change was saved. Free some space.") from None
        raise StoreCorruptError(f"The site database is damaged or cannot be read with this key ({exc}).") from None


# Tables an older schema left for a site to convert (see migrations.py, versions 4 and 5).
LEGACY_TABLES = frozenset({"staff_v3", "audit_v3", "aggregates_v4"})


class SQLiteStore(ThreadConnections, SqlTables):
    """A site's records, tallies and settings in one SQLite file."""

    def __init__(self, path: Path, key: bytes | None = None, cache_mib: int = 32) -> None:
        self.path = Path(path)
        self._key = key
        self._cache_mib = cache_mib
        super().__init__()
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._readers = ReadWriteLock()
        with self._using(), translate_errors(self.path):
            migrate(self._conn())

    def _forget_secrets(self) -> None:
        self._key = None  # (closing forgets the key: the file is never opened without it again)

    # ------------------------------------------------------------ connections

    def _connect(self, key: bytes | None) -> Any:
        journal.check(self.path, key)  # before SQLite plays a damaged journal back (see journal.py)
        conn = sqlite.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=10)
        if key is not None:
            # SQLCipher would otherwise print page-HMAC failures to stderr; Haven reports them itself.
            conn.execute("PRAGMA cipher_log_level = NONE")
            conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            # Page authentication with HMAC-SHA256 (SQLCipher 4 defaults to SHA-512): as strong for a
            # 256-bit key, and cheaper on every page a bulk import rewrites. Part of the file format.
            conn.execute("PRAGMA cipher_hmac_algorithm = HMAC_SHA256")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA mmap_size = 0")
        conn.execute("PRAGMA cache_spill = OFF")
        conn.execute(f"PRAGMA cache_size = -{self._cache_mib * 1024}")
        # The first read touches the file: a wrong key or a damaged file fails here (and a hot
        # journal left by a killed commit is rolled back).
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # Choosing a rollback journal writes nothing to a database already in that family, so
        # opening works on a full disk; a database still in WAL mode is converted here, once.
        mode = conn.execute(f"PRAGMA journal_mode = {JOURNAL_MODE}").fetchone()[0]
        if mode not in (JOURNAL_MODE, "memory"):  # (an in-memory database has no files to journal)
            conn.close()
            raise StoreError("The site database is in use by an older Haven; close it there and try again.")
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        return conn

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._inflight.lock:
                if self._inflight.closed:  # (the key is gone: never open the file without it)
                    raise StoreClosedError()
                key = self._key
            conn = self._connect(key)
            self._local.conn = conn
            self._keep(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        if getattr(self._local, "writing", False):
            # Already inside this thread's write transaction: join it, so a change and its
            # audit entry (or a read of the next index and the insert) commit together.
            yield self._conn()
            return
        with self._using(), translate_errors(self.path), self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            self._local.writing = True
            try:
                yield conn
                # Only COMMIT writes the main file (no cache spill), so only COMMIT waits for readers.
                with self._readers.exclusive():
                    conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception), self._readers.exclusive():
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._local.writing = False

    @contextlib.contextmanager
    def _read(self) -> Iterator[None]:
        with self._using(), translate_errors(self.path), self._readers.shared():
            yield

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction on this thread's connection. Commits when the outermost block ends,
        rolls back if it raises. Writes and reads inside it (``add``, ``find``, ``put_setting``, nested
        ``transaction`` blocks) join it; ``BEGIN IMMEDIATE`` holds the write lock across processes."""
        with self._write():
            yield

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement: for tests that look at the file as a seizer would. Haven
        itself reads only through the Store protocol."""
        with self._read():
            return [tuple(row) for row in self._conn().execute(sql, params).fetchall()]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read():
            return list(self._conn().execute(sql, params).fetchall())

    def schema_version(self) -> int:
        with self._read():
            return schema_version(self._conn())

    # ------------------------------------------------------------ records and settings

    def add(self, records: Sequence[SealedRecord], tallies: Sequence[SealedTally]) -> None:
        with self._write() as conn:
            # In key order: consecutive inserts land on neighbouring B-tree pages.
            conn.executemany(
                "INSERT INTO records (locator, id, sealed) VALUES (?, ?, ?)",
                sorted((r.locator, r.id, r.sealed) for r in records),
            )
            conn.executemany("INSERT INTO tallies (id, sealed) VALUES (?, ?)", [tuple(t) for t in tallies])
            self._bump_buckets(conn, [(r.locator, r.id) for r in records])

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        out: list[SealedRecord] = []
        with self._read():
            conn = self._conn()
            for start in range(0, len(locators), _FIND_CHUNK):
                chunk = locators[start : start + _FIND_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(f"SELECT locator, id, sealed FROM records WHERE locator IN ({marks})", chunk)
                out.extend(SealedRecord(bytes(a), bytes(b), bytes(c)) for a, b, c in rows)
        return out

    def merge(self, records: Iterable[SealedRecord]) -> int:
        rows = [(r.locator, r.id, r.sealed) for r in records]
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany("INSERT OR IGNORE INTO records (locator, id, sealed) VALUES (?, ?, ?)", rows)
            new = int(conn.total_changes - before)
            if new == len(rows):  # all new (a first sync): their digests are XORed in
                self._bump_buckets(conn, [(r[0], r[1]) for r in rows])
            elif new:  # some were here already: the touched buckets are recomputed from their rows
                self._recompute_buckets(conn, {bucket_of(r[0]) for r in rows})
            return new

    def setting_names(self, prefix: str = "") -> list[str]:
        # A range, not LIKE: a prefix may hold '%' or '_'. (Names are text; U+10FFFF sorts after all.)
        rows = self._rows(
            "SELECT name FROM settings WHERE name >= ? AND name < ? ORDER BY name", (prefix, prefix + "\U0010ffff")
        )
        return [str(r[0]) for r in rows]

    # ------------------------------------------------------------ older schemas

    def legacy_rows(self, table: str) -> list[tuple[Any, ...]] | None:
        if table not in LEGACY_TABLES:
            raise ValueError(f"not a table kept from an older schema: {table}")
        with self._read():
            conn = self._conn()
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
                return None
            return [tuple(r) for r in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()]

    def drop_legacy(self, table: str) -> None:
        if table not in LEGACY_TABLES:
            raise ValueError(f"not a table kept from an older schema: {table}")
        with self._write() as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')  # secure_delete zeroes its pages

    def tables(self) -> list[Table]:
        out = []
        with self._read():
            conn = self._conn()
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            out.append(
                Table(
                    "sqlite_master",
                    ("type", "name", "sql"),
                    conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                )
            )
            for name in names:
                cursor = conn.execute(f'SELECT * FROM "{name}"')
                columns = tuple(d[0] for d in cursor.description)
                out.append(Table(name, columns, cursor.fetchall()))
        return out

    def tune_for_bulk(self, cache_mib: int = 256) -> None:
        """A larger page cache for this thread's connection: a bulk import touches many random
        B-tree pages per batch (records are clustered by random locator), and a cache that holds
        them all writes each page once per batch instead of once per row."""
        self._cache_mib = cache_mib  # for connections other threads open from now on
        with self._using(), translate_errors():
            self._conn().execute(f"PRAGMA cache_size = -{cache_mib * 1024}")

    def integrity_check(self) -> str:
        with self._read():
            return str(self._conn().execute("PRAGMA integrity_check").fetchone()[0])

    def checkpoint(self) -> None:
        """Fold a WAL into the main file: only a benchmark's WAL-mode store has one (a no-op otherwise)."""
        with self._using(), translate_errors(self.path):
            self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
