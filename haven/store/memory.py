"""An in-memory store for tests: the same behaviour as SQLite, nothing on disk."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence

from haven.core.records import SealedRecord
from haven.store.base import SealedTally, Table
from haven.sync.buckets import Bucket, apply, bucket_of, deltas


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[tuple[bytes, bytes], SealedRecord] = {}
        self._by_locator: dict[bytes, list[SealedRecord]] = {}
        self._tallies: dict[bytes, bytes] = {}
        self._settings: dict[str, bytes] = {}
        self._buckets: dict[int, Bucket] = {}
        self._lock = threading.RLock()  # re-entrant: a transaction's own reads and writes take it again
        self._depth = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            saved = (dict(self._records), {k: list(v) for k, v in self._by_locator.items()}, dict(self._tallies))
            settings, buckets = dict(self._settings), dict(self._buckets)
            self._depth = 1
            try:
                yield
            except BaseException:
                self._records, self._by_locator, self._tallies = saved
                self._settings, self._buckets = settings, buckets
                raise
            finally:
                self._depth = 0

    def _put(self, record: SealedRecord) -> bool:
        key = (record.locator, record.id)
        if key in self._records:
            return False
        self._records[key] = record
        self._by_locator.setdefault(record.locator, []).append(record)
        self._buckets.update(apply(self._buckets, deltas([key])))
        return True

    def add(self, records: Sequence[SealedRecord], tallies: Sequence[SealedTally]) -> None:
        with self.transaction():
            for record in records:
                self._put(record)
            self._put_tallies(tallies)

    def _put_tallies(self, tallies: Sequence[SealedTally]) -> None:
        for tally in tallies:
            self._tallies[bytes(tally.id)] = bytes(tally.sealed)

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        with self._lock:
            return [r for loc in locators for r in self._by_locator.get(loc, ())]

    def merge(self, records: Iterable[SealedRecord]) -> int:
        with self.transaction():  # all or nothing, as SQLite's
            return sum(self._put(r) for r in records)

    def records(self) -> Iterator[SealedRecord]:
        with self._lock:
            snapshot = sorted(self._records.values(), key=lambda r: (r.locator, r.id))
        return iter(snapshot)

    def tallies(self) -> list[SealedTally]:
        with self._lock:
            return [SealedTally(k, v) for k, v in sorted(self._tallies.items())]

    def replace_tallies(self, remove: Sequence[bytes], add: Sequence[SealedTally]) -> None:
        with self.transaction():
            for tally_id in remove:
                self._tallies.pop(bytes(tally_id), None)
            self._put_tallies(add)

    def get_setting(self, name: str) -> bytes | None:
        with self._lock:
            return self._settings.get(name)

    def put_setting(self, name: str, value: bytes) -> None:
        with self._lock:
            self._settings[name] = bytes(value)

    def tables(self) -> list[Table]:
        rows = [(r.locator, r.id, r.sealed) for r in self.records()]
        tallies = [tuple(t) for t in self.tallies()]
        with self._lock:
            settings = sorted(self._settings.items())
        return [
            Table("settings", ("name", "value"), settings),
            Table("records", ("locator", "id", "sealed"), rows),
            Table("tallies", ("id", "sealed"), tallies),
            Table(
                "sync_buckets", ("bucket", "digest", "count"), [(b, *n) for b, n in sorted(self.sync_buckets().items())]
            ),
        ]

    def close(self) -> None:
        pass

    # ------------------------------------------------------------ sync (haven/sync/reconcile.py)

    def sync_buckets(self, buckets: Sequence[int] | None = None) -> dict[int, Bucket]:
        with self._lock:
            if buckets is None:
                return dict(self._buckets)
            return {b: self._buckets[b] for b in buckets if b in self._buckets}

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        wanted = set(buckets)
        return [r for r in self.records() if bucket_of(r.locator) in wanted]
