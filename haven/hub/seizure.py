"""What a seized hub tells: read from its tables as PostgreSQL keeps them (``haven hub seizure-view``)."""

from __future__ import annotations

from typing import Any

from haven.hub.roster import current_roster
from haven.store.base import Table
from haven.store.hub import RESHUFFLE_DUE, HubStore


def _ctid(text: str) -> tuple[int, int]:
    page, item = text.strip("()").split(",")
    return int(page), int(item)


def analyse(db: HubStore, tables: list[Table]) -> dict[str, Any]:
    """The facts a seizure gives: how many rows and bytes, whether row places or inserting transactions
    group any rows (they do only for pushes since the last reshuffle), and the roster's size."""
    records = next(t for t in tables if t.name == "records")
    rows = records.rows  # (ctid, xmin, locator, id, sealed), in ctid order
    by_place = [(bytes(r[2]), bytes(r[3])) for r in sorted(rows, key=lambda r: _ctid(str(r[0])))]
    in_locator_order = by_place == sorted(by_place)
    transactions = len({r[1] for r in rows})
    roster = current_roster(db)
    sealed_bytes = sum(len(r[4]) for r in rows)
    due = db.get_setting(RESHUFFLE_DUE) is not None
    facts: dict[str, Any] = {
        "rows": len(rows),
        "sealed_bytes": sealed_bytes,
        "inserting_transactions": transactions,
        "places_follow_locators": in_locator_order,
        "reshuffle_due": due,
        "members": len(roster.members) if roster else 0,
        "removed": len(roster.removed) if roster else 0,
    }
    grouped = transactions > 1 or not in_locator_order
    facts["summary"] = [
        f"{len(rows)} sealed rows ({sealed_bytes} bytes), each under a random locator and id: no column says "
        "which site sent a row, or when.",
        (
            f"Row places and inserting transactions group rows: {transactions} transactions since the last "
            "reshuffle (pushes not yet reshuffled)."
            if grouped
            else "Every row was written by one transaction, in locator order: nothing groups the rows of a push."
        ),
        f"The roster's public keys: {facts['members']} member sites, {facts['removed']} removed "
        "(how many clinics the network has; not which rows are whose).",
    ]
    return facts
