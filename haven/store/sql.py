"""The Store methods whose SQL is the same on SQLite and PostgreSQL: records read back, tallies,
settings, staff rows and audit rows (the tables are alike: see migrations.py and pg_migrations.py).

Statements are written with ``?`` placeholders; a store whose driver wants another style sets
:attr:`SqlTables.PLACEHOLDER`. Each store supplies ``_write`` (its write transaction, joined when one
is open on this thread, yielding the connection) and ``_rows`` (one read statement's rows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from haven.core.records import SealedRecord
from haven.store.base import AUDIT_HEAD, AuditRow, SealedTally, StaffRow
from haven.sync.buckets import EMPTY, Bucket, apply, bucket_of, deltas

_PUT_SETTING = (
    "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


class SqlTables:
    PLACEHOLDER = "?"

    def _write(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _sql(self, statement: str) -> str:
        return statement if self.PLACEHOLDER == "?" else statement.replace("?", self.PLACEHOLDER)

    def _run(self, conn: Any, statement: str, params: Sequence[Any] = ()) -> None:
        conn.execute(self._sql(statement), params)

    def _select(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._rows(self._sql(statement), params)

    # ------------------------------------------------------------ records

    def records(self) -> Iterator[SealedRecord]:
        rows = self._select("SELECT locator, id, sealed FROM records ORDER BY locator, id")
        return (SealedRecord(bytes(a), bytes(b), bytes(c)) for a, b, c in rows)

    def count(self) -> int:
        return int(self._select("SELECT count(*) FROM records")[0][0])

    # ------------------------------------------------------------ tallies

    def tallies(self) -> list[SealedTally]:
        return [SealedTally(bytes(a), bytes(b)) for a, b in self._select("SELECT id, sealed FROM tallies ORDER BY id")]

    def replace_tallies(self, remove: Sequence[bytes], add: Sequence[SealedTally]) -> None:
        with self._write() as conn:
            cursor = conn.cursor()
            if remove:
                cursor.executemany(self._sql("DELETE FROM tallies WHERE id = ?"), [(bytes(i),) for i in remove])
            if add:
                cursor.executemany(self._sql("INSERT INTO tallies (id, sealed) VALUES (?, ?)"), [tuple(t) for t in add])

    # ------------------------------------------------------------ settings

    def get_setting(self, name: str) -> bytes | None:
        rows = self._select("SELECT value FROM settings WHERE name = ?", (name,))
        return None if not rows else bytes(rows[0][0])

    def put_setting(self, name: str, value: bytes) -> None:
        with self._write() as conn:
            self._run(conn, _PUT_SETTING, (name, bytes(value)))

    def delete_setting(self, name: str) -> None:
        with self._write() as conn:
            self._run(conn, "DELETE FROM settings WHERE name = ?", (name,))

    # ------------------------------------------------------------ staff

    def add_staff(self, row: StaffRow) -> None:
        with self._write() as conn:
            self._run(conn, "INSERT INTO staff (id, sealed, removed) VALUES (?, ?, ?)", tuple(row))

    def staff(self, active_only: bool = False) -> list[StaffRow]:
        where = " WHERE removed IS NULL" if active_only else ""
        rows = self._select(f"SELECT id, sealed, removed FROM staff{where} ORDER BY id")
        return [StaffRow(bytes(a), None if b is None else bytes(b), c) for a, b, c in rows]

    def is_active_staff(self, staff_id: bytes) -> bool:
        return bool(self._select("SELECT 1 FROM staff WHERE id = ? AND removed IS NULL", (bytes(staff_id),)))

    def remove_staff(self, staff_id: bytes, day: str) -> None:
        with self._write() as conn:
            self._run(conn, "UPDATE staff SET sealed = NULL, removed = ? WHERE id = ?", (day, bytes(staff_id)))

    def clear_staff(self) -> None:
        with self._write() as conn:
            self._run(conn, "DELETE FROM staff")

    # ------------------------------------------------------------ audit

    def append_audit(self, row: AuditRow, head: bytes) -> None:
        with self._write() as conn:
            self._run(conn, "INSERT INTO audit (seq, sealed, hash) VALUES (?, ?, ?)", tuple(row))
            self._run(conn, _PUT_SETTING, (AUDIT_HEAD, bytes(head)))

    def audit_rows(self) -> list[AuditRow]:
        rows = self._select("SELECT seq, sealed, hash FROM audit ORDER BY seq")
        return [AuditRow(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def last_audit(self) -> AuditRow | None:
        rows = self._select("SELECT seq, sealed, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return None if not rows else AuditRow(int(rows[0][0]), bytes(rows[0][1]), bytes(rows[0][2]))

    def clear_audit(self) -> None:
        with self._write() as conn:
            self._run(conn, "DELETE FROM audit")
            self._run(conn, "DELETE FROM settings WHERE name = ?", (AUDIT_HEAD,))

    # ------------------------------------------------------------ sync (haven/sync/reconcile.py)
    # ``add`` and ``merge`` call ``_bump_buckets`` or ``_recompute_buckets`` inside their transaction.

    def sync_buckets(self, buckets: Sequence[int] | None = None) -> dict[int, Bucket]:
        if buckets is None:
            rows = self._select("SELECT bucket, digest, count FROM sync_buckets")
        else:
            rows = []
            wanted = list(buckets)
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows.extend(
                    self._select(f"SELECT bucket, digest, count FROM sync_buckets WHERE bucket IN ({marks})", chunk)
                )
        return {int(b): Bucket(bytes(d), int(n)) for b, d, n in rows if n}

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        out: list[SealedRecord] = []
        wanted = set(buckets)
        for low, high in bucket_runs(wanted, gap=_GAP):  # a first sync asks for most buckets: a few long scans
            rows = self._select(*_in_buckets("locator, id, sealed", low, high))
            out.extend(SealedRecord(bytes(a), bytes(b), bytes(c)) for a, b, c in rows if bucket_of(a) in wanted)
        return out

    def _current_buckets(self, conn: Any, buckets: Sequence[int]) -> dict[int, Bucket]:
        current: dict[int, Bucket] = {}
        if len(buckets) > _CHUNK * 16:  # most of the table: one scan, then keep those asked for
            wanted = set(buckets)
            for b, d, n in conn.execute(self._sql("SELECT bucket, digest, count FROM sync_buckets")).fetchall():
                if int(b) in wanted:
                    current[int(b)] = Bucket(bytes(d), int(n))
            return current
        for start in range(0, len(buckets), _CHUNK):
            chunk = list(buckets[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            sql = self._sql(f"SELECT bucket, digest, count FROM sync_buckets WHERE bucket IN ({marks})")
            for b, d, n in conn.execute(sql, chunk).fetchall():
                current[int(b)] = Bucket(bytes(d), int(n))
        return current

    def _store_buckets(self, conn: Any, nodes: dict[int, Bucket]) -> None:
        conn.cursor().executemany(
            self._sql(
                "INSERT INTO sync_buckets (bucket, digest, count) VALUES (?, ?, ?)"
                " ON CONFLICT (bucket) DO UPDATE SET digest = excluded.digest, count = excluded.count"
            ),
            [(b, node.digest, node.rows) for b, node in sorted(nodes.items())],
        )

    def _bucket_keys(self, conn: Any, buckets: Sequence[int]) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        wanted = set(buckets)
        for low, high in bucket_runs(wanted, gap=_GAP):
            sql, params = _in_buckets("locator, id", low, high)
            rows = conn.execute(self._sql(sql), params).fetchall()
            out.extend((bytes(a), bytes(b)) for a, b in rows if bucket_of(a) in wanted)
        return out

    def _bump_buckets(self, conn: Any, keys: Sequence[tuple[bytes, bytes]]) -> None:
        """XOR new rows ``(locator, id)`` into their buckets' digests, inside the open write transaction."""
        change = deltas(keys)
        if change:
            self._store_buckets(conn, apply(self._current_buckets(conn, sorted(change)), change))

    def _recompute_buckets(self, conn: Any, buckets: set[int]) -> None:
        """Set the digests of ``buckets`` from the rows they hold, inside the open write transaction."""
        filled = {b: EMPTY for b in buckets}
        filled.update(apply({}, deltas(self._bucket_keys(conn, sorted(buckets)))))
        self._store_buckets(conn, filled)


_CHUNK = 256
_GAP = 8  # buckets between two asked for, read (and dropped) rather than start another scan


def bucket_runs(buckets: Iterable[int], gap: int = 0) -> list[tuple[int, int]]:
    """``buckets`` as runs ``(first, last)`` of numbers at most ``gap`` apart beyond consecutive.

    >>> bucket_runs([5, 1, 2, 3, 9]), bucket_runs([5, 1, 2, 3, 9], gap=1)
    ([(1, 3), (5, 5), (9, 9)], [(1, 5), (9, 9)])
    """
    runs: list[tuple[int, int]] = []
    for b in sorted(set(buckets)):
        if runs and runs[-1][1] >= b - 1 - gap:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((b, b))
    return runs


def _in_buckets(columns: str, first: int, last: int) -> tuple[str, tuple[bytes, ...]]:
    """A query for ``columns`` of the records in buckets ``first`` to ``last``, in key order."""
    low = first.to_bytes(2, "big")
    if last == 0xFFFF:
        return f"SELECT {columns} FROM records WHERE locator >= ? ORDER BY locator, id", (low,)
    high = (last + 1).to_bytes(2, "big")
    return f"SELECT {columns} FROM records WHERE locator >= ? AND locator < ? ORDER BY locator, id", (low, high)
