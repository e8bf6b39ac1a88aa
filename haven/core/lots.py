"""The lot register: the vaccine lots a site holds (product, lot number, expiry, doses received).

Site inventory only: a lot names no holder and links no visit. The visit form picks from it, a dose
from an expired lot is refused, and a lot not in it warns (core/checks.py). Doses used per lot are
counted in the site's counters at write time (:func:`usage_keys`), never from the records, so
counting them needs no card; a counter key names a lot by its small register number only.

>>> import datetime as dt
>>> lot = parse_lot("mr", " MR-77 ", "2027-03-31", 200, number=1)
>>> (lot.product, lot.lot, lot.expiry.isoformat(), lot.received)
('mr', 'MR-77', '2027-03-31', 200)
>>> lot_from_bytes(lot_to_bytes(lot)) == lot
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from haven.core.aggregates import KIND_LOT, AggregateKey, iso_week
from haven.core.catalogue import catalogue
from haven.core.entries import Vaccination, Visit
from haven.errors import ExpiredLotError, InputError

MAX_LOT = 40  # as an entry's ``lot`` field
MAX_RECEIVED = 1_000_000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Lot:
    number: int  # its place in the register, from 1: what the counters name it by
    product: str
    lot: str
    expiry: dt.date
    received: int | None = None
    retired: bool = False

    def expired_on(self, day: dt.date) -> bool:
        """Whether a dose given on ``day`` comes from an expired lot (the expiry day itself is still good)."""
        return day > self.expiry

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "number": self.number,
            "product": self.product,
            "lot": self.lot,
            "expiry": self.expiry.isoformat(),
            "retired": self.retired,
        }
        if self.received is not None:
            doc["received"] = self.received
        return doc


def parse_lot(product: str, lot: str, expiry: str, received: int | None, number: int) -> Lot:
    """A new lot from what staff typed; :class:`InputError` naming the field otherwise."""
    if product not in catalogue().products:
        raise InputError(f"Unknown product {product!r}: see `haven catalogue`.", field="product")
    text = lot.strip()
    if not text or len(text) > MAX_LOT:
        raise InputError(f"A lot number has 1 to {MAX_LOT} characters.", field="lot")
    if not _DATE.fullmatch(expiry.strip()):
        raise InputError("An expiry date is written YYYY-MM-DD.", field="expiry")
    try:
        day = dt.date.fromisoformat(expiry.strip())
    except ValueError:  # written right, but no such day: 2026-02-30
        raise InputError(
            f"There is no day {expiry.strip()}: check the expiry date's month and day.",
            field="expiry",
            problem="no-day",
        ) from None
    if received is not None and not 1 <= received <= MAX_RECEIVED:
        raise InputError(f"Doses received are 1 to {MAX_RECEIVED}.", field="received")
    return Lot(number, product, text, day, received)


def lot_to_bytes(lot: Lot) -> bytes:
    return json.dumps(lot.to_doc(), sort_keys=True, separators=(",", ":")).encode()


def lot_from_bytes(data: bytes) -> Lot:
    doc = json.loads(data)
    return Lot(
        doc["number"],
        doc["product"],
        doc["lot"],
        dt.date.fromisoformat(doc["expiry"]),
        doc.get("received"),
        bool(doc.get("retired", False)),
    )


@dataclass(frozen=True)
class Register:
    lots: tuple[Lot, ...] = ()

    def find(self, product: str, lot: str) -> Lot | None:
        return next((x for x in self.lots if x.product == product and x.lot == lot), None)

    def next_number(self) -> int:
        return max((x.number for x in self.lots), default=0) + 1

    def in_use(self, today: dt.date) -> list[Lot]:
        """The lots a visit form offers: not retired, not expired today."""
        return [x for x in self.lots if not x.retired and not x.expired_on(today)]

    def known(self) -> dict[str, frozenset[str]]:
        """Lot numbers not retired, by product, for the checks before saving (a retired lot warns)."""
        out: dict[str, set[str]] = {}
        for x in self.lots:
            if not x.retired:
                out.setdefault(x.product, set()).add(x.lot)
        return {product: frozenset(lots) for product, lots in out.items()}

    def refuse_expired(self, visit: Visit) -> None:
        """:class:`ExpiredLotError` for a dose from a lot that had expired on its day."""
        for i, entry in enumerate(visit.entries):
            if isinstance(entry, Vaccination) and entry.lot is not None:
                found = self.find(entry.product, entry.lot)
                if found is not None and found.expired_on(entry.date):
                    raise ExpiredLotError(f"entries[{i}].lot", found.lot, found.expiry.isoformat())

    def usage_keys(self, visit: Visit) -> list[AggregateKey]:
        """One counter per dose given from a registered lot: ``(week, KIND_LOT, lot number, product id, 0)``."""
        keys = []
        for entry in visit.entries:
            if isinstance(entry, Vaccination) and entry.lot is not None and not entry.verified_external:
                found = self.find(entry.product, entry.lot)
                if found is not None:
                    product = catalogue().product(found.product).id
                    keys.append(AggregateKey(iso_week(entry.date), KIND_LOT, found.number, product, 0))
        return keys


def retired(lot: Lot) -> Lot:
    return dataclasses.replace(lot, retired=True)


def used_per_lot(counts: Mapping[AggregateKey, int] | Iterable[tuple[AggregateKey, int]]) -> dict[int, int]:
    """Doses used per lot number, from the site's counter totals."""
    items = counts.items() if isinstance(counts, Mapping) else counts
    out: dict[int, int] = {}
    for key, n in items:
        if key.kind == KIND_LOT:
            out[key.code] = out.get(key.code, 0) + n
    return out
