"""Staff accounts as stored inside the encrypted database (the ``staff`` table), sealed to coordinators."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from haven.errors import InputError
from haven.site import daycount
from haven.site.keyslots import NAME_MAX_BYTES
from haven.site.rolekeys import NO_KEYS, RoleKeys, member_setting, unwrap, wrap
from haven.site.roles import Role
from haven.store.base import StaffRow, Store


@dataclass(frozen=True)
class StaffMember:
    id: bytes
    name: str
    roles: Role
    slots: tuple[int, int]
    added: str

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "roles": self.roles.names(), "added": self.added}


def check_name(name: str) -> str:
    """A staff name (a pseudonym is best): 1 to 96 UTF-8 bytes, printable, no surrounding spaces."""
    text = unicodedata.normalize("NFC", name).strip()
    if not text:
        raise InputError("A staff name cannot be empty.", problem="name-empty")
    if len(text.encode("utf-8")) > NAME_MAX_BYTES:
        raise InputError(
            f"A staff name has at most {NAME_MAX_BYTES} bytes in UTF-8.", problem="name-long", max=NAME_MAX_BYTES
        )
    if any(not ch.isprintable() for ch in text):
        raise InputError("A staff name has printable characters only.", problem="name-unprintable")
    return text


def day(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).date().isoformat()


def _purpose(staff_id: bytes) -> str:
    return "staff/" + staff_id.hex()


def seal_member(member: StaffMember, admin: bytes, random_bytes: Callable[[int], bytes]) -> bytes:
    doc = {1: member.name, 2: int(member.roles), 3: list(member.slots), 4: member.added}
    return wrap(admin, _purpose(member.id), cbor2.dumps(doc, canonical=True), random_bytes)


def open_member(staff_id: bytes, sealed: bytes, admin: bytes) -> StaffMember:
    doc = cbor2.loads(unwrap(admin, _purpose(staff_id), sealed))
    a, b = doc[3]
    return StaffMember(staff_id, str(doc[1]), Role(int(doc[2])), (int(a), int(b)), str(doc[4]))


class StaffTable:
    """The ``staff`` table: each row is a random id, the account sealed under the admin key, and
    the day it was removed. Without the admin key (a coordinator's passphrase) only ``exists`` works."""

    def __init__(self, store: Store, keys: RoleKeys = NO_KEYS) -> None:
        self.store = store
        self.keys = keys

    def exists(self, staff_id: bytes) -> bool:
        return self.store.is_active_staff(staff_id)

    def active(self) -> list[StaffMember]:
        return active_members(self.store, self.keys.require_admin())

    def by_name(self, name: str) -> StaffMember:
        text = check_name(name)
        found = next((m for m in self.active() if m.name == text), None)
        if found is None:
            raise InputError(f"No staff member here is called {text!r}.", problem="no-staff", name=text)
        return found

    def names(self) -> dict[bytes, str | None]:
        """Every id ever used here and its name (None once removed), for showing the audit log."""
        admin = self.keys.require_admin()
        rows = self.store.staff()
        return {r.id: None if r.sealed is None else open_member(r.id, r.sealed, admin).name for r in rows}

    def used_slots(self) -> set[int]:
        return {s for m in self.active() for s in m.slots}


def active_members(store: Store, admin: bytes) -> list[StaffMember]:
    rows = store.staff(active_only=True)
    return sorted((open_member(r.id, r.sealed, admin) for r in rows if r.sealed is not None), key=lambda m: m.name)


def insert(store: Store, member: StaffMember, admin: bytes, random_bytes: Callable[[int], bytes]) -> None:
    """Store a new account, refused if an active one has its name (inside the caller's transaction, so the
    check and the insert see one state)."""
    with store.transaction():
        if any(m.name == member.name for m in active_members(store, admin)):
            raise InputError(
                f"There is already a staff member called {member.name!r}.", problem="staff-taken", name=member.name
            )
        store.add_staff(StaffRow(member.id, seal_member(member, admin, random_bytes)))


def remove(store: Store, staff_id: bytes, now: dt.datetime) -> None:
    """Forget the account (a seized list of helpers endangers them) but keep the id for the audit log."""
    with store.transaction():
        store.remove_staff(staff_id, day(now))
        store.delete_setting(member_setting(staff_id))
        store.delete_setting(daycount.setting(staff_id))
