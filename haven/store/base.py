"""The one interface every storage adapter implements (memory, SQLite, PostgreSQL).

A store keeps what a site writes, all of it opaque to the store:

* sealed visit records: an append-only set keyed by ``(locator, id)``, merged by union;
* sealed counter tallies under random ids;
* named site settings (trust list, wrapped keys, configuration);
* staff rows: a random id, the account sealed to coordinators, the day it was removed;
* audit rows: a hash chain of sealed entries, with its head kept as the setting ``audit.head``.

It never sees a card, a holder key, a clinical value, a count or a staff name. Every SQL
statement of Haven lives behind this interface, in ``haven/store/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from haven.core.records import SealedRecord
from haven.sync.buckets import Bucket

# The setting that holds the audit chain's last ``(seq, hash)``, moved by every append.
AUDIT_HEAD = "audit.head"

# What every store says when a write repeats a stored key (a record, tally, staff id or audit number).
CONFLICT = "This change conflicts with what is stored (a row with this key exists); nothing of it was saved."


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


class StaffRow(NamedTuple):
    """One staff account: a random id, the account sealed under the admin key (None once removed),
    and the day it was removed (``YYYY-MM-DD``; None while active)."""

    id: bytes
    sealed: bytes | None
    removed: str | None = None


class AuditRow(NamedTuple):
    """One audit entry: its number (from 1), the entry sealed to coordinators, its chain hash."""

    seq: int
    sealed: bytes
    hash: bytes


class Store(Protocol):
    # ------------------------------------------------------------ transactions and life

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction, all or nothing; every read and write inside it (nested blocks too)
        joins it, and no other writer (thread or process) commits in between."""

    def schema_version(self) -> int:
        """The version of the stored schema (numbered migrations, applied when the store opens)."""

    def tables(self) -> list[Table]:
        """Every table and row, raw: what a seized copy shows."""

    def tune_for_bulk(self, cache_mib: int = 256) -> None:
        """A hint that a bulk import follows (a larger cache where the store has one)."""

    def close(self) -> None:
        """Refuse every operation from now on; operations in flight on other threads finish first."""

    def wait_closed(self, timeout_s: float) -> bool:
        """After :meth:`close`: wait until operations in flight have ended; False if some still run."""

    # ------------------------------------------------------------ records

    def add(self, records: Sequence[SealedRecord], tallies: Sequence[SealedTally]) -> None:
        """Store the records and their counters' tallies, all or nothing, durably before returning.
        A record already stored (same locator and id) is an error: nothing is stored."""

    def find(self, locators: Sequence[bytes]) -> list[SealedRecord]:
        """Every record stored under any of ``locators`` (several may share one)."""

    def merge(self, records: Iterable[SealedRecord]) -> int:
        """Union with records from elsewhere; returns how many were new. Idempotent."""

    def records(self) -> Iterator[SealedRecord]:
        """Every record, in ``(locator, id)`` order (random: it follows the locators)."""

    def count(self) -> int:
        """How many records are stored."""

    # ------------------------------------------------------------ tallies

    def tallies(self) -> list[SealedTally]:
        """Every tally, in id order (random: nothing records the order they were added in)."""

    def replace_tallies(self, remove: Sequence[bytes], add: Sequence[SealedTally]) -> None:
        """Delete the tallies with ids ``remove`` and store ``add`` instead, all or nothing (a fold)."""

    # ------------------------------------------------------------ settings

    def get_setting(self, name: str) -> bytes | None:
        """A site setting, or None."""

    def put_setting(self, name: str, value: bytes) -> None:
        """Store a site setting durably, replacing any earlier value."""

    def delete_setting(self, name: str) -> None:
        """Forget a setting (nothing happens if there is none)."""

    def setting_names(self, prefix: str = "") -> list[str]:
        """The names of the settings that begin with ``prefix``, in order."""

    # ------------------------------------------------------------ staff

    def add_staff(self, row: StaffRow) -> None:
        """Store a new staff row (an id already stored is an error: nothing is stored)."""

    def staff(self, active_only: bool = False) -> list[StaffRow]:
        """Every staff row (or only those not removed), in id order."""

    def is_active_staff(self, staff_id: bytes) -> bool:
        """Whether ``staff_id`` is an account that was not removed."""

    def remove_staff(self, staff_id: bytes, day: str) -> None:
        """Forget the sealed account but keep its id (the audit log names it), marked removed on ``day``."""

    def clear_staff(self) -> None:
        """Delete every staff row (a conversion that starts over)."""

    # ------------------------------------------------------------ audit

    def append_audit(self, row: AuditRow, head: bytes) -> None:
        """Store the next audit row and set :data:`AUDIT_HEAD` to ``head``, all or nothing.
        A ``seq`` already stored is an error: nothing is stored."""

    def audit_rows(self) -> list[AuditRow]:
        """Every audit row, in ``seq`` order."""

    def last_audit(self) -> AuditRow | None:
        """The audit row with the highest ``seq``, or None."""

    def clear_audit(self) -> None:
        """Delete every audit row and the head (a conversion that starts over)."""

    # ------------------------------------------------------------ older schemas

    def legacy_rows(self, table: str) -> list[tuple[Any, ...]] | None:
        """The rows of a table kept from an older schema (``staff_v3``, ``audit_v3``, ``aggregates_v4``:
        only SQLite sites made before schemas 4 and 5 have them), or None where there is no such table."""

    def drop_legacy(self, table: str) -> None:
        """Drop a table kept from an older schema, its pages zeroed (nothing happens if there is none)."""

    # ------------------------------------------------------------ sync (haven/sync/reconcile.py)
    # ``add`` and ``merge`` keep one digest per bucket of the locator space (haven/sync/buckets.py)
    # in the same transaction as the rows, so reconciliation never scans the records.

    def sync_buckets(self, buckets: Sequence[int] | None = None) -> dict[int, Bucket]:
        """The digest and count of every non-empty bucket among ``buckets`` (None: all of them)."""

    def sync_rows(self, buckets: Sequence[int]) -> list[SealedRecord]:
        """Every record whose locator falls in one of ``buckets``."""
