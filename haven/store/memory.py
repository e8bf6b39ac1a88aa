"""An in-memory store for tests: the same behaviour as SQLite, nothing on disk."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from haven.core.aggregates import AggregateKey
from haven.core.records import SealedRecord
from haven.store.base import Table


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[tuple[bytes, bytes], SealedRecord] = {}
        self._by_locator: dict[bytes, list[SealedRecord]] = {}
        self._counts: Counter[AggregateKey] = Counter()
        self._settings: dict[str, bytes] = {}
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
            saved = (dict(self._records), {k: list(v) for k, v in self._by_locator.items()}, Counter(self._counts))
            settings = dict(self._settings)
            self._depth = 1
            try:
                yield
            except BaseException:
                self._records, self._by_locator, self._counts = saved
                self._settings = settings
                raise
            finally:
                self._depth = 0

    def _put(self, record: SealedRecord) -> bool:
        key = (record.locator, record.id)
        if key in self._records:
            return False
        self._records[key] = record
        self._by_locator.setdefault(record.locator, []).append(record)
        return True

    def add(self, records: Sequence[SealedRecord], counts: Sequence[AggregateKey]) -> None:
        with self._lock:
            for record in records:
                self._put(record)
            self._counts.update(counts)

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        with self._lock:
            return [r for loc in locators for r in self._by_locator.get(loc, ())]

    def merge(self, records: Iterable[SealedRecord]) -> int:
        with self._lock:
            return sum(self._put(r) for r in records)

    def records(self) -> Iterator[SealedRecord]:
        with self._lock:
            snapshot = sorted(self._records.values(), key=lambda r: (r.locator, r.id))
        return iter(snapshot)

    def aggregates(self) -> dict[AggregateKey, int]:
        with self._lock:
            return dict(self._counts)

    def get_setting(self, name: str) -> bytes | None:
        with self._lock:
            return self._settings.get(name)

    def put_setting(self, name: str, value: bytes) -> None:
        with self._lock:
            self._settings[name] = bytes(value)

    def tables(self) -> list[Table]:
        rows = [(r.locator, r.id, r.sealed) for r in self.records()]
        counts = [(k.week, k.kind, k.code, k.detail, k.age_band, n) for k, n in sorted(self.aggregates().items())]
        with self._lock:
            settings = sorted(self._settings.items())
        return [
            Table("settings", ("name", "value"), settings),
            Table("records", ("locator", "id", "sealed"), rows),
            Table("aggregates", ("week", "kind", "code", "detail", "age_band", "count"), counts),
        ]

    def close(self) -> None:
        pass
