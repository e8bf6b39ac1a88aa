"""The lot register's use cases: coordinators add and retire lots, everyone lists them (docs/lots.md).

Lots are site settings ``lot.<number>`` (inside the encrypted database, like every setting): product,
lot number, expiry, doses received, retired or not. No date of entry, no staff member, no visit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.core.lots import Lot, Register, lot_from_bytes, lot_to_bytes, parse_lot, retired, used_per_lot
from haven.errors import InputError
from haven.site.roles import Permission, allowed
from haven.store.base import Store

PREFIX = "lot."


def setting_name(number: int) -> str:
    return f"{PREFIX}{number:06d}"


def load_register(store: Store) -> Register:
    """Every lot in the register, in register order."""
    lots = []
    for name in store.setting_names(PREFIX):
        value = store.get_setting(name)
        if value is not None:
            lots.append(lot_from_bytes(value))
    return Register(tuple(sorted(lots, key=lambda x: x.number)))


@dataclass(frozen=True)
class LotLine:
    """One lot as listed: ``used`` (doses given from it, from the counters) only for those who read counts."""

    lot: Lot
    status: str  # "in-use", "expired" or "retired"
    used: int | None

    def to_doc(self) -> dict[str, Any]:
        doc = {**self.lot.to_doc(), "status": self.status}
        if self.used is not None:
            doc["used"] = self.used
        return doc


class Lots(Area):
    @use_case(Permission.LOT_MANAGE, Action.LOT_ADD)
    def add(self, product: str, lot: str, expiry: str, received: int | None = None) -> Lot:
        """Add a lot; the same lot number of the same product twice is refused."""
        with self.change(Action.LOT_ADD):
            register = load_register(self.site.store)
            new = parse_lot(product, lot, expiry, received, register.next_number())
            if register.find(new.product, new.lot) is not None:
                raise InputError(
                    f"Lot {new.lot} of {new.product} is already in the register.", field="lot", problem="duplicate"
                )
            self.site.store.put_setting(setting_name(new.number), lot_to_bytes(new))
        return new

    @use_case(Permission.LOT_MANAGE, Action.LOT_RETIRE)
    def retire(self, product: str, lot: str) -> Lot:
        """Take a lot out of use (used up, damaged, recalled): the form no longer offers it, and a dose
        recorded from it warns; it stays listed, with its doses used."""
        with self.change(Action.LOT_RETIRE):
            found = load_register(self.site.store).find(product, lot.strip())
            if found is None:
                raise InputError(
                    f"There is no lot {lot.strip()} of {product} in the register.", field="lot", problem="unknown"
                )
            done = retired(found)
            self.site.store.put_setting(setting_name(done.number), lot_to_bytes(done))
        return done

    @use_case(Permission.LOT_VIEW, Action.COUNTS_FOLD)
    def list(self, today: dt.date | None = None) -> list[LotLine]:
        """Every lot with its status; doses used per lot for those who may read the counters
        (reading them may fold the tallies, with its ``counts.fold`` entry, as a report does)."""
        day = today or self.app.today()
        register = load_register(self.site.store)
        used = None
        if register.lots and allowed(self.app.member.roles, Permission.REPORT_VIEW):
            used = used_per_lot(self.site.counts().totals)
        return [
            LotLine(
                x,
                "retired" if x.retired else "expired" if x.expired_on(day) else "in-use",
                None if used is None else used.get(x.number, 0),
            )
            for x in register.lots
        ]

    @use_case(Permission.LOT_VIEW, None)
    def register(self) -> Register:
        """The register as the visit form picks from it (no counts)."""
        return load_register(self.site.store)
