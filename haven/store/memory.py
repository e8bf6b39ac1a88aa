"""An in-memory store for tests: the same behaviour as SQLite, nothing on disk."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from haven.core.records import SealedRecord
from haven.errors import StoreClosedError, StoreError
from haven.store.base import AUDIT_HEAD, CONFLICT, AuditRow, SealedTally, StaffRow, Table
from haven.sync.buckets import Bucket, apply, bucket_of, deltas

LATEST = 1  # this store keeps no files, so it has one schema


@dataclass
class _State:
    records: dict[tuple[bytes, bytes], bytes] = field(default_factory=dict)
    by_locator: dict[bytes, list[bytes]] = field(default_factory=dict)  # locator -> record ids, in arrival order
    tallies: dict[bytes, bytes] = field(default_factory=dict)
    settings: dict[str, bytes] = field(default_factory=dict)
    staff: dict[bytes, StaffRow] = field(default_factory=dict)
    audit: dict[int, AuditRow] = field(default_factory=dict)
    buckets: dict[int, Bucket] = field(default_factory=dict)  # sync: haven/sync/buckets.py

    def copy(self) -> _State:
        """A copy to roll back to (rows are immutable: only the containers are copied)."""
        return _State(
            dict(self.records),
            {k: list(v) for k, v in self.by_locator.items()},
            dict(self.tallies),
            dict(self.settings),
            dict(self.staff),
            dict(self.audit),
            dict(self.buckets),
        )


def _conflict() -> StoreError:
    return StoreError(CONFLICT)


class _Data:
    """What a memory store holds; several handles may share it (:meth:`MemoryStore.reopen`)."""

    def __init__(self) -> None:
        self.state = _State()
        self.lock = threading.RLock()  # re-entrant: a transaction's own reads and writes take it again
        self.depth = 0


class MemoryStore:
    def __init__(self, data: _Data | None = None) -> None:
        self._data = data or _Data()
        self._lock = self._data.lock
        self._closed = False

    def reopen(self) -> MemoryStore:
        """A new handle on the same data, as opening a database file again gives (this one may be closed)."""
        return MemoryStore(self._data)

    @property
    def _state(self) -> _State:
        return self._data.state

    @property
    def _depth(self) -> int:
        return self._data.depth

    @_depth.setter
    def _depth(self, value: int) -> None:
        self._data.depth = value

    # ------------------------------------------------------------ transactions and life

    @contextlib.contextmanager
    def _using(self) -> Iterator[_State]:
        with self._lock:
            if self._closed and not self._depth:
                raise StoreClosedError()
            yield self._state

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._using():
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            saved = self._state.copy()
            self._depth = 1
            try:
                yield
            except BaseException:
                self._data.state = saved
                raise
            finally:
                self._depth = 0

    @contextlib.contextmanager
    def _write(self) -> Iterator[_State]:
        """One write, all or nothing (a transaction of its own, or part of the one in progress)."""
        with self.transaction(), self._using() as state:
            yield state

    def schema_version(self) -> int:
        with self._using():
            return LATEST

    def tune_for_bulk(self, cache_mib: int = 256) -> None:
        pass

    def close(self) -> None:
        self._closed = True

    def wait_closed(self, timeout_s: float) -> bool:
        # Every operation holds the lock: once it is free, none is in flight.
        if not self._lock.acquire(timeout=max(timeout_s, 0)):
            return False
        self._lock.release()
        return self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    def tables(self) -> list[Table]:
        with self._using() as s:
            return [
                Table("settings", ("name", "value"), sorted(s.settings.items())),
                Table("records", ("locator", "id", "sealed"), [(*k, v) for k, v in sorted(s.records.items())]),
                Table("tallies", ("id", "sealed"), sorted(s.tallies.items())),
                Table("staff", ("id", "sealed", "removed"), [tuple(r) for _, r in sorted(s.staff.items())]),
                Table("audit", ("seq", "sealed", "hash"), [tuple(r) for _, r in sorted(s.audit.items())]),
                Table("sync_buckets", ("bucket", "digest", "count"), [(b, *n) for b, n in sorted(s.buckets.items())]),
            ]

    # ------------------------------------------------------------ records

    @staticmethod
    def _put(s: _State, record: SealedRecord) -> bool:
        key = (bytes(record.locator), bytes(record.id))
        if key in s.records:
            return False
        s.records[key] = bytes(record.sealed)
        s.by_locator.setdefault(key[0], []).append(key[1])
        s.buckets.update(apply(s.buckets, deltas([key])))
        return True

    def add(self, records: Sequence[SealedRecord], tallies: Sequence[SealedTally]) -> None:
        with self._write() as s:
            for record in records:
                if not self._put(s, record):
                    raise _conflict()
            self._put_tallies(s, tallies)

    @staticmethod
    def _put_tallies(s: _State, tallies: Sequence[SealedTally]) -> None:
        for tally in tallies:
            if bytes(tally.id) in s.tallies:
                raise _conflict()
            s.tallies[bytes(tally.id)] = bytes(tally.sealed)

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        with self._using() as s:
            return [
                SealedRecord(bytes(loc), i, s.records[(bytes(loc), i)])
                for loc in locators
                for i in s.by_locator.get(bytes(loc), ())
            ]

    def merge(self, records: Iterable[SealedRecord]) -> int:
        with self._write() as s:
            return sum(self._put(s, r) for r in records)

    def records(self) -> Iterator[SealedRecord]:
        with self._using() as s:
            snapshot = [SealedRecord(loc, i, sealed) for (loc, i), sealed in sorted(s.records.items())]
        return iter(snapshot)

    def count(self) -> int:
        with self._using() as s:
            return len(s.records)

    # ------------------------------------------------------------ tallies

    def tallies(self) -> list[SealedTally]:
        with self._using() as s:
            return [SealedTally(k, v) for k, v in sorted(s.tallies.items())]

    def replace_tallies(self, remove: Sequence[bytes], add: Sequence[SealedTally]) -> None:
        with self._write() as s:
            for tally_id in remove:
                s.tallies.pop(bytes(tally_id), None)
            self._put_tallies(s, add)

    # ------------------------------------------------------------ settings

    def get_setting(self, name: str) -> bytes | None:
        with self._using() as s:
            return s.settings.get(name)

    def put_setting(self, name: str, value: bytes) -> None:
        with self._write() as s:
            s.settings[name] = bytes(value)

    def delete_setting(self, name: str) -> None:
        with self._write() as s:
            s.settings.pop(name, None)

    def setting_names(self, prefix: str = "") -> list[str]:
        with self._using() as s:
            return sorted(n for n in s.settings if n.startswith(prefix))

    # ------------------------------------------------------------ staff

    def add_staff(self, row: StaffRow) -> None:
        with self._write() as s:
            if bytes(row.id) in s.staff:
                raise _conflict()
            s.staff[bytes(row.id)] = StaffRow(
                bytes(row.id), None if row.sealed is None else bytes(row.sealed), row.removed
            )

    def staff(self, active_only: bool = False) -> list[StaffRow]:
        with self._using() as s:
            return [r for _, r in sorted(s.staff.items()) if not (active_only and r.removed is not None)]

    def is_active_staff(self, staff_id: bytes) -> bool:
        with self._using() as s:
            row = s.staff.get(bytes(staff_id))
            return row is not None and row.removed is None

    def remove_staff(self, staff_id: bytes, day: str) -> None:
        with self._write() as s:
            if bytes(staff_id) in s.staff:
                s.staff[bytes(staff_id)] = StaffRow(bytes(staff_id), None, day)

    def clear_staff(self) -> None:
        with self._write() as s:
            s.staff.clear()

    # ------------------------------------------------------------ audit

    def append_audit(self, row: AuditRow, head: bytes) -> None:
        with self._write() as s:
            if row.seq in s.audit:
                raise _conflict()
            s.audit[int(row.seq)] = AuditRow(int(row.seq), bytes(row.sealed), bytes(row.hash))
            s.settings[AUDIT_HEAD] = bytes(head)

    def audit_rows(self) -> list[AuditRow]:
        with self._using() as s:
            return [r for _, r in sorted(s.audit.items())]

    def last_audit(self) -> AuditRow | None:
        with self._using() as s:
            return s.audit[max(s.audit)] if s.audit else None

    def clear_audit(self) -> None:
        with self._write() as s:
            s.audit.clear()
            s.settings.pop(AUDIT_HEAD, None)

    # ------------------------------------------------------------ older schemas

    def legacy_rows(self, table: str) -> list[tuple[Any, ...]] | None:
        return None  # a memory store is never older than this code

    def drop_legacy(self, table: str) -> None:
        pass

    # ------------------------------------------------------------ sync (haven/sync/reconcile.py)

    def sync_buckets(self, buckets: Sequence[int] | None = None) -> dict[int, Bucket]:
        with self._using() as s:
            if buckets is None:
                return dict(s.buckets)
            return {b: s.buckets[b] for b in buckets if b in s.buckets}

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        wanted = set(buckets)
        return [r for r in self.records() if bucket_of(r.locator) in wanted]
