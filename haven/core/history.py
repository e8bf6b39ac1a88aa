"""A holder's history: the opened visits, in order, their entries as corrected, and what is due next.

``History.visits`` holds each visit with its entries as they are now (amended ones replaced, voided
ones left out), which is what schedules, certificates and exports read; ``recorded`` holds them as
first recorded and ``states`` each entry's corrections (haven/core/corrections.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from haven.core.aggregates import AggregateKey, aggregate_keys
from haven.core.catalogue import catalogue
from haven.core.corrections import (
    AMEND,
    VOID,
    Correction,
    EntryState,
    Made,
    check_amend,
    check_void,
    parse_reason,
    resolve_all,
)
from haven.core.entries import (
    Aefi,
    Entry,
    HolderFacts,
    Vaccination,
    Visit,
    confirmation_to_doc,
    entry_to_doc,
    holder_to_doc,
)
from haven.core.records import Opened, OpenedCorrection, OpenedRecord
from haven.core.schedule import DoseDue, next_due
from haven.errors import EntryError

# Visits are told apart by index and by the start of their random record id: after two offline
# sites that gave one holder the same index are merged, the index alone names two visits.
RECORD_TAG_BYTES = 4


def record_tag(visit: OpenedRecord) -> str:
    """The visit's short record tag (hex), shown only to staff who opened the card."""
    return visit.id[:RECORD_TAG_BYTES].hex()


def entry_id(visit: OpenedRecord, number: int) -> str:
    """The id staff name an entry by (to correct it, or to choose what a certificate states):
    ``<index>.<record tag>.<position>``. The record tag keeps it unambiguous when two visits share an
    index after a merge."""
    return f"{visit.index}.{record_tag(visit)}.{number}"


@dataclass(frozen=True)
class History:
    visits: tuple[OpenedRecord, ...]
    next_due: tuple[DoseDue, ...]
    holder: HolderFacts
    unreadable: int = 0
    recorded: tuple[OpenedRecord, ...] = ()  # the visits as first recorded (empty: none was corrected)
    states: dict[tuple[bytes, int], EntryState] = field(default_factory=dict)  # by record id and position
    last_index: int = -1  # the highest index of any record, visit or correction

    @property
    def next_index(self) -> int:
        return max(self.last_index, *(v.index for v in self.visits), -1) + 1

    def current_entries(self) -> list[tuple[OpenedRecord, int, Entry]]:
        """Every entry not voided, as it is now, with its visit (as recorded) and its position there."""
        out = []
        for visit in self.recorded or self.visits:
            for n, entry in enumerate(visit.visit.entries):
                state = self.states.get((visit.id, n))
                now = entry if state is None else state.current
                if now is not None:
                    out.append((visit, n, now))
        return out

    def find(self, entry: str) -> tuple[OpenedRecord, int, EntryState]:
        """The visit (as recorded), position and state of the entry ``entry`` names (:func:`entry_id`);
        KeyError if it names none."""
        for visit in self.recorded or self.visits:
            for n, first in enumerate(visit.visit.entries):
                if entry_id(visit, n) == entry:
                    return visit, n, self.states.get((visit.id, n)) or EntryState(first, first)
        raise KeyError(entry)

    def correction(
        self, entry: str, kind: str, doc: Any, reason: Any, today: dt.date
    ) -> tuple[Correction, Counter[AggregateKey]]:
        """The correction that amends (``doc``: the entry as it should be) or voids the entry ``entry`` names,
        validated, and the change it makes to the counters: the entry's cell loses one, an amended one's
        gains one (a change of product, dose, result, care or week moves the count)."""
        if kind not in (AMEND, VOID):
            raise EntryError("kind", "choice", options=(AMEND, VOID))
        try:
            visit, n, state = self.find(entry)
        except KeyError:
            raise EntryError("entry", "no-such-entry") from None
        said = parse_reason(reason, required=kind == VOID)
        if kind == AMEND:
            replacement: Entry | None = check_amend(state, doc, today)
        else:
            check_void(state)
            replacement = None
        counts: Counter[AggregateKey] = Counter()
        for gained, part in ((1, replacement), (-1, state.current)):
            if part is not None:
                for key in aggregate_keys(Visit((part,), visit.visit.holder)):
                    counts[key] += gained
        return Correction(visit.id, n, kind, replacement, said, state.head), counts

    def to_doc(self) -> dict[str, Any]:
        """The documented JSON shape of ``haven history --json``."""
        return {
            "visits": [
                {
                    "index": v.index,
                    "record": record_tag(v),
                    "recorded_on": v.recorded_on.isoformat(),
                    "entries": [self._entry_doc(v, n, e) for n, e in enumerate(v.visit.entries)],
                    **({"holder": holder_to_doc(v.visit.holder)} if holder_to_doc(v.visit.holder) else {}),
                    **({"confirmed": confirmation_to_doc(v.visit.confirmed)} if v.visit.confirmed else {}),
                }
                for v in self.recorded or self.visits
            ],
            "next_due": [d.to_doc() for d in self.next_due],
            "holder": holder_to_doc(self.holder),
            "unreadable": self.unreadable,
        }

    def _entry_doc(self, visit: OpenedRecord, n: int, entry: Entry) -> dict[str, Any]:
        """An entry as it is now; a corrected one also says when, why and what it was first, a voided one
        shows its last value and says so."""
        state = self.states.get((visit.id, n))
        if state is None or state.last is None:
            return _entry_doc(entry)
        made = state.last
        said = {"on": made.recorded_on.isoformat(), **({"reason": r} if (r := made.correction.reason) else {})}
        if state.current is None:
            return {**_entry_doc(state.before), "voided": said}
        return {**_entry_doc(state.current), "corrected": {**said, "original": _entry_doc(state.original)}}


def _entry_doc(entry: Any) -> dict[str, Any]:
    doc = entry_to_doc(entry)
    if isinstance(entry, Vaccination | Aefi):
        doc["product_name"] = catalogue().product(entry.product).name
    return doc


def latest_facts(visits: Sequence[OpenedRecord]) -> HolderFacts:
    """Merge the holder facts of all visits, later visits winning field by field."""
    merged: dict[str, Any] = {}
    for visit in visits:
        merged.update(holder_to_doc(visit.visit.holder))
    if "birth_year" in merged and "age_band" in merged:
        merged.pop("age_band")
    return HolderFacts(**merged)


def build_history(opened: Sequence[Opened], today: dt.date, unreadable: int = 0) -> History:
    """The history from every record that opened: visits in order, corrections applied."""
    recorded = tuple(
        sorted((r for r in opened if isinstance(r, OpenedRecord)), key=lambda v: (v.index, v.recorded_on, v.id))
    )
    made = [Made(r.id, r.recorded_on, r.correction) for r in opened if isinstance(r, OpenedCorrection)]
    last_index = max((r.index for r in opened), default=-1)
    facts = latest_facts(recorded)
    if not made:
        vaccinations = [e for v in recorded for e in v.visit.entries if isinstance(e, Vaccination)]
        return History(recorded, tuple(next_due(vaccinations, today, facts)), facts, unreadable, last_index=last_index)
    states = resolve_all({(v.id, n): e for v in recorded for n, e in enumerate(v.visit.entries)}, made)
    corrected = {key: state for key, state in states.items() if state.last is not None}
    visits = tuple(replace(v, visit=replace(v.visit, entries=_current(v, states))) for v in recorded)  # confirmed kept
    vaccinations = [e for v in visits for e in v.visit.entries if isinstance(e, Vaccination)]
    due = tuple(next_due(vaccinations, today, facts))
    return History(visits, due, facts, unreadable, recorded, corrected, last_index)


def _current(visit: OpenedRecord, states: dict[tuple[bytes, int], EntryState]) -> tuple[Entry, ...]:
    now = (states[(visit.id, n)].current for n in range(len(visit.visit.entries)))
    return tuple(e for e in now if e is not None)
