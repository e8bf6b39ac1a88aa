"""A holder's history: the opened visits, in order, and what is due next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from haven.core.catalogue import catalogue
from haven.core.entries import HolderFacts, Vaccination, confirmation_to_doc, entry_to_doc, holder_to_doc
from haven.core.records import OpenedRecord
from haven.core.schedule import DoseDue, next_due

# Visits are told apart by index and by the start of their random record id: after two offline
# sites that gave one holder the same index are merged, the index alone names two visits.
RECORD_TAG_BYTES = 4


def record_tag(visit: OpenedRecord) -> str:
    """The visit's short record tag (hex), shown only to staff who opened the card."""
    return visit.id[:RECORD_TAG_BYTES].hex()


@dataclass(frozen=True)
class History:
    visits: tuple[OpenedRecord, ...]
    next_due: tuple[DoseDue, ...]
    holder: HolderFacts
    unreadable: int = 0

    @property
    def next_index(self) -> int:
        return max((v.index for v in self.visits), default=-1) + 1

    def to_doc(self) -> dict[str, Any]:
        """The documented JSON shape of ``haven history --json``."""
        return {
            "visits": [
                {
                    "index": v.index,
                    "record": record_tag(v),
                    "recorded_on": v.recorded_on.isoformat(),
                    "entries": [_entry_doc(e) for e in v.visit.entries],
                    **({"holder": holder_to_doc(v.visit.holder)} if holder_to_doc(v.visit.holder) else {}),
                    **({"confirmed": confirmation_to_doc(v.visit.confirmed)} if v.visit.confirmed else {}),
                }
                for v in self.visits
            ],
            "next_due": [d.to_doc() for d in self.next_due],
            "holder": holder_to_doc(self.holder),
            "unreadable": self.unreadable,
        }


def _entry_doc(entry: Any) -> dict[str, Any]:
    doc = entry_to_doc(entry)
    if isinstance(entry, Vaccination):
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


def build_history(opened: Sequence[OpenedRecord], today: dt.date, unreadable: int = 0) -> History:
    visits = tuple(sorted(opened, key=lambda v: (v.index, v.recorded_on, v.id)))
    facts = latest_facts(visits)
    vaccinations = [e for v in visits for e in v.visit.entries if isinstance(e, Vaccination)]
    return History(visits, tuple(next_due(vaccinations, today, facts)), facts, unreadable)
