"""Staff accounts as stored inside the encrypted database (the ``staff`` table)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from haven.errors import InputError
from haven.site.keyslots import NAME_MAX_BYTES
from haven.site.roles import Role
from haven.store.sqlite import SQLiteStore


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
        raise InputError("A staff name cannot be empty.")
    if len(text.encode("utf-8")) > NAME_MAX_BYTES:
        raise InputError(f"A staff name has at most {NAME_MAX_BYTES} bytes in UTF-8.")
    if any(not ch.isprintable() for ch in text):
        raise InputError("A staff name has printable characters only.")
    return text


def day(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).date().isoformat()


def _member(row: tuple[Any, ...]) -> StaffMember:
    return StaffMember(bytes(row[0]), str(row[1]), Role(int(row[2])), (int(row[3]), int(row[4])), str(row[5]))


_COLUMNS = "id, name, roles, slot_a, slot_b, added"


class StaffTable:
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def active(self) -> list[StaffMember]:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM staff WHERE removed IS NULL ORDER BY name")
        return [_member(r) for r in rows]

    def by_id(self, staff_id: bytes) -> StaffMember | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM staff WHERE id = ? AND removed IS NULL", (staff_id,))
        return _member(rows[0]) if rows else None

    def by_name(self, name: str) -> StaffMember:
        text = check_name(name)
        rows = self.store.query(f"SELECT {_COLUMNS} FROM staff WHERE name = ? AND removed IS NULL", (text,))
        if not rows:
            raise InputError(f"No staff member here is called {text!r}.")
        return _member(rows[0])

    def names(self) -> dict[bytes, str | None]:
        """Every id ever used here and its name (None once removed), for showing the audit log."""
        return {bytes(r[0]): r[1] for r in self.store.query("SELECT id, name FROM staff")}

    def used_slots(self) -> set[int]:
        rows = self.store.query("SELECT slot_a, slot_b FROM staff WHERE removed IS NULL")
        return {int(s) for row in rows for s in row}


def insert_in(conn: Any, member: StaffMember) -> None:
    if conn.execute("SELECT 1 FROM staff WHERE name = ? AND removed IS NULL", (member.name,)).fetchone():
        raise InputError(f"There is already a staff member called {member.name!r}.")
    conn.execute(
        f"INSERT INTO staff ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (member.id, member.name, int(member.roles), member.slots[0], member.slots[1], member.added),
    )


def remove_in(conn: Any, staff_id: bytes, now: dt.datetime) -> None:
    """Forget the name (a seized list of helpers endangers them) but keep the id for the audit log."""
    conn.execute(
        "UPDATE staff SET name = NULL, slot_a = NULL, slot_b = NULL, removed = ? WHERE id = ?",
        (day(now), staff_id),
    )
