"""The audit log: who did what, never to whom, in an append-only hash chain.

An entry is ``(seq, at, staff, action, count)``: a sequence number from 1, the
hour it happened (UTC, rounded down: minutes would help match an entry to a
person seen entering the clinic), the staff member's random id, an action name
such as ``visit.add`` and how many things it covered. There is no card, locator,
record id, holder detail or free text, so the log cannot say whom an action
touched.

Chaining: ``h_0 = SHA-256("haven/v1/audit")`` and
``h_i = SHA-256(h_{i-1} || CBOR([seq, at, staff, action, count]))``. Each row
stores its ``h_i``; the site setting ``audit.head`` holds the last ``(seq, h)``,
written in the same transaction. :meth:`AuditLog.verify` recomputes the chain
and names the first entry that fails: an edited entry, a removed one (middle or
tail), an inserted one and two swapped ones all break it.

Whoever holds a passphrase holds the master key and could recompute the whole
chain after editing it. That is caught by comparing with a head seen earlier:
``haven audit head`` prints it, and ``haven audit verify --witness SEQ:HASH``
checks that the chain still passes through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import cbor2

from haven.errors import AuditTamperedError, InputError
from haven.store.sqlite import SQLiteStore

GENESIS = hashlib.sha256(b"haven/v1/audit").digest()
HEAD_SETTING = "audit.head"


def hour(now: dt.datetime) -> str:
    """The UTC hour of ``now``, as stored.

    >>> hour(dt.datetime(2026, 11, 29, 14, 59, 59, tzinfo=dt.UTC))
    '2026-11-29T14Z'
    """
    if now.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%HZ")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    staff: bytes
    action: str
    count: int

    def canonical(self) -> bytes:
        return bytes(cbor2.dumps([self.seq, self.at, self.staff, self.action, self.count], canonical=True))

    def chain(self, previous: bytes) -> bytes:
        return hashlib.sha256(previous + self.canonical()).digest()


@dataclass(frozen=True)
class Head:
    seq: int
    hash: bytes

    def pack(self) -> bytes:
        return self.seq.to_bytes(8, "big") + self.hash

    @classmethod
    def unpack(cls, raw: bytes) -> Head:
        return cls(int.from_bytes(raw[:8], "big"), raw[8:])

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash.hex()}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """``SEQ:HEX`` as printed by ``haven audit head``."""
        try:
            seq, _, digest = text.strip().partition(":")
            head = cls(int(seq), bytes.fromhex(digest))
        except ValueError:
            raise InputError(f"A witnessed head looks like 42:9f3a… (sequence, colon, hash), not {text!r}.") from None
        if len(head.hash) != 32 or head.seq < 0:
            raise InputError("A witnessed head's hash has 64 hex digits.")
        return head


class AuditLog:
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def append(self, staff: bytes, action: str, count: int, now: dt.datetime) -> Head:
        """Add one entry and move the head, in one transaction."""
        with self.store.transaction() as conn:
            return append_in(conn, staff, action, count, now)

    def rows(self) -> list[tuple[AuditEntry, bytes]]:
        rows = self.store.query("SELECT seq, at, staff, action, count, hash FROM audit ORDER BY seq")
        return [(AuditEntry(int(r[0]), str(r[1]), bytes(r[2]), str(r[3]), int(r[4])), bytes(r[5])) for r in rows]

    def head(self) -> Head | None:
        raw = self.store.get_setting(HEAD_SETTING)
        return None if raw is None else Head.unpack(raw)

    def verify(self, witnesses: tuple[Head, ...] = ()) -> Head:
        """Recompute the chain; return the head, or raise :class:`AuditTamperedError` at the first fault."""
        return verify_rows(self.rows(), self.head(), witnesses)


def append_in(conn: Any, staff: bytes, action: str, count: int, now: dt.datetime) -> Head:
    """Append within an open write transaction ``conn``."""
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, previous = (1, GENESIS) if last is None else (int(last[0]) + 1, bytes(last[1]))
    entry = AuditEntry(seq, hour(now), staff, action, count)
    digest = entry.chain(previous)
    conn.execute(
        "INSERT INTO audit (seq, at, staff, action, count, hash) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.seq, entry.at, entry.staff, entry.action, entry.count, digest),
    )
    head = Head(seq, digest)
    conn.execute(
        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (HEAD_SETTING, head.pack()),
    )
    return head


def verify_rows(rows: list[tuple[AuditEntry, bytes]], head: Head | None, witnesses: tuple[Head, ...] = ()) -> Head:
    previous = GENESIS
    seen: dict[int, bytes] = {0: GENESIS}
    for position, (entry, stored) in enumerate(rows, start=1):
        if entry.seq != position:
            raise AuditTamperedError(
                f"Audit entry {position} is missing or out of place (found {entry.seq} there).", seq=position
            )
        digest = entry.chain(previous)
        if digest != stored:
            raise AuditTamperedError(
                f"Audit entry {entry.seq} does not match the chain: it, or one before it, was changed or moved.",
                seq=entry.seq,
            )
        seen[entry.seq] = digest
        previous = digest
    last = Head(len(rows), previous)
    if head is None:
        if rows:
            raise AuditTamperedError("The audit log's head record is missing.")
    elif head != last:
        if head.seq > last.seq:
            raise AuditTamperedError(
                f"The audit log ends at entry {last.seq} but its head says {head.seq}: entries were cut from the end.",
                seq=last.seq + 1,
            )
        raise AuditTamperedError("The audit log's head does not match its last entry.", seq=last.seq)
    for witness in witnesses:
        if seen.get(witness.seq) != witness.hash:
            raise AuditTamperedError(
                f"The audit log no longer passes through the head witnessed at entry {witness.seq}: "
                "it was rewritten since.",
                seq=witness.seq,
            )
    return last
