"""Each staff member's own count of today's work, sealed so that only their own passphrase opens it.

The audit log and the counters open only with a coordinator's keys, so a registrar or clinician cannot read
what they recorded today from either. Each member therefore has one more settings row (``staff/own-day/<id>``):
the UTC day and, for each action :data:`COUNTED`, how many things they did that day. It is sealed with
AES-256-GCM under a key derived from their **member key** (the random key that only their own key slot
holds, :mod:`haven.site.rolekeys`), so any session of theirs can open and update it, in the same write
transaction as the action and its audit entry (:meth:`haven.site.site.UnlockedSite.record`), and no other
passphrase, a coordinator's included, can.

The plain row has one fixed size (the day and six 32-bit counts), so its length says nothing; it names no
holder and links no visit. A new day starts from zero. A row that does not open (the member's passphrase was
reset by a coordinator, which gives them a new member key) also starts from zero. Removing the member deletes
the row (:func:`haven.site.staff.remove`); panic erases it with the rest of the database.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable

from haven.app.actions import Action
from haven.core.keys import hkdf
from haven.errors import SiteError
from haven.site.rolekeys import unwrap, wrap
from haven.store.base import Store

PREFIX = "staff/own-day/"
# What a member's own day counts: the day's work of haven.app.daywork, and corrections.
COUNTED = (
    Action.VISIT_ADD,
    Action.VISIT_IMPORT,
    Action.CERTIFICATE_ISSUE,
    Action.CERTIFICATE_IMPORT,
    Action.VISIT_CORRECT,
    Action.VISIT_VOID,
)
_LAYOUT = struct.Struct(f">10s{len(COUNTED)}I")  # the ISO day, then one count per action (fixed size)
PLAIN_BYTES = _LAYOUT.size
_MAX = 2**32 - 1


def setting(staff_id: bytes) -> str:
    return PREFIX + staff_id.hex()


def count_key(member_key: bytes) -> bytes:
    """The key of a member's own row, from their member key (b'' for a slot of an older Haven: no row)."""
    return hkdf(member_key, "haven/v1/own-day") if any(member_key) else b""


def _day(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).date().isoformat()


def _open(store: Store, staff_id: bytes, key: bytes) -> tuple[str, list[int]]:
    blob = store.get_setting(setting(staff_id))
    if blob is None:
        return "", [0] * len(COUNTED)
    try:
        day, *counts = _LAYOUT.unpack(unwrap(key, setting(staff_id), blob))
    except (SiteError, struct.error):  # not theirs any more (a reset passphrase): start again
        return "", [0] * len(COUNTED)
    return day.decode("ascii", "replace"), counts


def today(store: Store, staff_id: bytes, key: bytes, now: dt.datetime) -> dict[str, int]:
    """This member's counts for the UTC day of ``now`` (actions with none left out)."""
    if not key:
        return {}
    day, counts = _open(store, staff_id, key)
    if day != _day(now):
        return {}
    return {action.value: n for action, n in zip(COUNTED, counts, strict=True) if n}


def add(
    store: Store,
    staff_id: bytes,
    key: bytes,
    action: str,
    count: int,
    now: dt.datetime,
    random_bytes: Callable[[int], bytes],
) -> None:
    """Add ``count`` to today's ``action`` in the member's row (inside the caller's transaction, if open)."""
    if action not in COUNTED or not key:
        return
    with store.transaction():
        day, counts = _open(store, staff_id, key)
        if day != _day(now):
            counts = [0] * len(COUNTED)
        i = COUNTED.index(Action(action))
        counts[i] = min(_MAX, counts[i] + max(0, count))
        plain = _LAYOUT.pack(_day(now).encode("ascii"), *counts)
        store.put_setting(setting(staff_id), wrap(key, setting(staff_id), plain, random_bytes))
