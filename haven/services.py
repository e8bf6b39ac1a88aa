"""Use cases: the pure core plus a store, a clock and a source of randomness, all injected.

The CLI and the web app call these and nothing below them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from haven.core.aggregates import AggregateKey, aggregate_keys
from haven.core.card import Card
from haven.core.entries import Visit, parse_visit
from haven.core.history import History, build_history
from haven.core.keys import HolderKeys
from haven.core.records import OpenedRecord, SealedRecord, UnreadableRecord, open_record, seal_visit
from haven.errors import NoRecordsError
from haven.store.base import Store

# Reading walks locators in batches and stops after GAP empty indices in a row,
# so a visit that arrived by sync ahead of its predecessors is still found.
READ_BATCH = 32
GAP = 8


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class AddedVisit:
    index: int
    entries: int
    first: bool

    def to_doc(self) -> dict[str, Any]:
        return {"index": self.index, "entries": self.entries, "first_visit": self.first, "stored": True}


@dataclass
class Clinic:
    """Cards, visits and histories at one site."""

    store: Store
    today: Callable[[], dt.date] = utc_today
    random_bytes: Callable[[int], bytes] = field(default=secrets.token_bytes)

    # ------------------------------------------------------------ cards

    def new_card(self, language: str = "en") -> Card:
        """A fresh card. Nothing is stored: the card exists once its first visit is recorded."""
        return Card.generate(self.random_bytes, language)

    # ------------------------------------------------------------ reading

    def _read(self, keys: HolderKeys) -> tuple[list[OpenedRecord], int]:
        opened: list[OpenedRecord] = []
        unreadable = 0
        start, last_hit = 0, -1
        while True:
            locators = keys.locators(start, READ_BATCH)
            where = {loc: start + i for i, loc in enumerate(locators)}
            for record in self.store.find(locators):
                index = where[record.locator]
                last_hit = max(last_hit, index)
                try:
                    opened.append(open_record(keys, record, index))
                except UnreadableRecord:
                    unreadable += 1
            start += READ_BATCH
            if start - 1 - last_hit >= GAP:
                return opened, unreadable

    def history(self, card: Card, pin: str | None = None) -> History:
        """The holder's whole history; :class:`NoRecordsError` if there is none (or the PIN is wrong)."""
        keys = HolderKeys.derive(card, pin)
        opened, unreadable = self._read(keys)
        if not opened and not unreadable:
            raise NoRecordsError()
        return build_history(opened, self.today(), unreadable)

    # ------------------------------------------------------------ writing

    def add_visit(
        self, card: Card, doc: Any, pin: str | None = None, first_visit: bool = False, trusted: bool = False
    ) -> AddedVisit:
        """Validate and record one visit, whole or not at all.

        A card with no records here is refused (an unknown card and a wrong PIN
        look alike) unless ``first_visit`` says staff are starting its history.
        ``trusted`` admits ``verified_external`` (certificate import only).
        """
        today = self.today()
        visit = parse_visit(doc, today, trusted=trusted)
        keys = HolderKeys.derive(card, pin)
        opened, unreadable = self._read(keys)
        if not opened and not unreadable and not first_visit:
            raise NoRecordsError(
                "No records for this card. If this is the holder's first visit here, record it as a first visit."
            )
        index = max((o.index for o in opened), default=-1) + 1
        record, counts = self._seal(keys, index, visit, today)
        self.store.add([record], counts)
        return AddedVisit(index=index, entries=len(visit.entries), first=not opened)

    def _seal(
        self, keys: HolderKeys, index: int, visit: Visit, today: dt.date
    ) -> tuple[SealedRecord, list[AggregateKey]]:
        return seal_visit(keys, index, visit, today, self.random_bytes), aggregate_keys(visit)

    def import_visits(
        self,
        items: Iterable[tuple[Card, Any, str | None]],
        batch: int = 2000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Bulk-record visits (card, visit document, PIN), committing every ``batch`` visits.

        Cards without records start a history (an import is a first visit).
        Every visit is validated before its batch is written; a bad one stops
        the import with nothing of its batch kept, and earlier batches kept.
        """
        today = self.today()
        next_index: dict[tuple[bytes, str | None], tuple[HolderKeys, int]] = {}
        records: list[SealedRecord] = []
        counts: list[AggregateKey] = []
        done = 0
        for card, doc, pin in items:
            visit = parse_visit(doc, today)
            slot = (card.secret, pin)
            if slot not in next_index:
                keys = HolderKeys.derive(card, pin)
                opened, _ = self._read(keys)
                next_index[slot] = (keys, max((o.index for o in opened), default=-1) + 1)
            keys, index = next_index[slot]
            next_index[slot] = (keys, index + 1)
            record, keys_counts = self._seal(keys, index, visit, today)
            records.append(record)
            counts.extend(keys_counts)
            if len(records) >= batch:
                self.store.add(records, counts)
                done += len(records)
                records, counts = [], []
                if progress:
                    progress(done)
        if records:
            self.store.add(records, counts)
            done += len(records)
            if progress:
                progress(done)
        return done


def iter_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """Number and parse the non-blank lines of a JSON Lines file."""
    import json

    from haven.errors import InputError

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"Line {number} is not valid JSON: {exc.msg}.", line=number) from None
