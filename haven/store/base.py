"""The one small interface every storage adapter implements.

A store keeps sealed visit records (an append-only set keyed by
``(locator, id)``, merged by union), sealed counter tallies, and named site
settings. It never sees a card, a holder key, a clinical value or a count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from haven.core.records import SealedRecord
from haven.sync.buckets import Bucket


@dataclass(frozen=True)
class Table:
    """A raw table as someone holding the files would read it."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class SealedTally(NamedTuple):
    """Counter increments sealed to those who may read counts (haven/site/tallies.py), under a random id."""

    id: bytes
    sealed: bytes


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Any]:
        """One write transaction, all or nothing; every read and write inside it (nested blocks too)
        joins it, and no other writer (thread or process) commits in between."""

    def add(self, records: Sequence[SealedRecord], tallies: Sequence[SealedTally]) -> None:
        """Store the records and their counters' tallies, all or nothing, durably before returning."""

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        """Every record stored under any of ``locators`` (several may share one)."""

    def merge(self, records: Iterable[SealedRecord]) -> int:
        """Union with records from elsewhere; returns how many were new. Idempotent."""

    def records(self) -> Iterator[SealedRecord]:
        """Every record, in storage order (which follows the random locators)."""

    def tallies(self) -> list[SealedTally]:
        """Every tally, in id order (random: nothing records the order they were added in)."""

    def replace_tallies(self, remove: Sequence[bytes], add: Sequence[SealedTally]) -> None:
        """Delete the tallies with ids ``remove`` and store ``add`` instead, all or nothing (a fold)."""

    def get_setting(self, name: str) -> bytes | None:
        """A site setting (trust list, keys, configuration), or None."""

    def put_setting(self, name: str, value: bytes) -> None:
        """Store a site setting durably, replacing any earlier value."""

    def tables(self) -> list[Table]:
        """Every table and row, raw: what a seized copy shows."""

    def close(self) -> None: ...

    # ------------------------------------------------------------ sync (haven/sync/reconcile.py)
    # ``add`` and ``merge`` keep one digest per bucket of the locator space (haven/sync/buckets.py)
    # in the same transaction as the rows, so reconciliation never scans the records.

    def sync_buckets(self, buckets: Sequence[int] | None = None) -> dict[int, Bucket]:
        """The digest and count of every non-empty bucket among ``buckets`` (None: all of them)."""

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        """Every record whose locator falls in one of ``buckets``."""
