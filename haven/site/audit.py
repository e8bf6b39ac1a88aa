"""The audit log: who did what, never to whom, in an append-only hash chain, sealed to coordinators.

An entry is ``(seq, at, staff, action, count)``: a sequence number from 1, the
hour it happened (UTC, rounded down: minutes would help match an entry to a
person seen entering the clinic), the staff member's random id, an action name
such as ``visit.add`` and how many things it covered. There is no card, locator,
record id, holder detail or free text, so the log cannot say whom an action
touched.

Sealing: every staff member writes entries, only coordinators read them. Each
entry is encrypted with HPKE (RFC 9180: DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, AES-256-GCM; ``cryptography``'s implementation) to the site's
audit public key, whose private half is wrapped under the admin key
(:mod:`haven.site.rolekeys`). A row is ``(seq, sealed, hash)``.

Chaining: ``h_0 = SHA-256("haven/v1/audit")`` and
``h_i = SHA-256(h_{i-1} || CBOR([seq, sealed]))``: over the sealed bytes, so a
chain hash cannot be used to guess an entry, and checking the chain needs no key.
Each row stores its ``h_i``; the site setting ``audit.head`` holds the last
``(seq, h)``, written in the same transaction. :meth:`AuditLog.verify` recomputes
the chain and names the first entry that fails: an edited entry, a removed one
(middle or tail), an inserted one and two swapped ones all break it; opening an
entry also checks that it was sealed for its own place.

Whoever holds a passphrase holds the master key and the public key, and could
recompute the whole chain after editing it. That is caught by comparing with a
head seen earlier: ``haven audit head`` prints it, and ``haven audit verify
--witness SEQ:HASH`` checks that the chain still passes through it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

from haven.errors import AuditTamperedError, InputError, SiteError
from haven.site.rolekeys import AUDIT_PUBLIC
from haven.store.base import AUDIT_HEAD, AuditRow, Store

GENESIS = hashlib.sha256(b"haven/v1/audit").digest()
HEAD_SETTING = AUDIT_HEAD
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO = b"haven/v1/audit"


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

    def seal(self, public: bytes) -> bytes:
        return bytes(SUITE.encrypt(self.canonical(), x25519.X25519PublicKey.from_public_bytes(public), INFO))

    @classmethod
    def open(cls, seq: int, sealed: bytes, private: x25519.X25519PrivateKey) -> AuditEntry:
        try:
            value = cbor2.loads(SUITE.decrypt(sealed, private, INFO))
            entry = cls(int(value[0]), str(value[1]), bytes(value[2]), str(value[3]), int(value[4]))
        except Exception:  # any failure to open is the same finding: not an entry sealed here
            raise AuditTamperedError.fault("unopenable", seq) from None
        if entry.seq != seq:
            raise AuditTamperedError.fault("moved", seq, found=entry.seq)
        return entry


def chain(previous: bytes, seq: int, sealed: bytes) -> bytes:
    return hashlib.sha256(previous + cbor2.dumps([seq, sealed], canonical=True)).digest()


# A stored row: (seq, sealed entry, chain hash).
Row = AuditRow


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
            raise InputError(
                f"A witnessed head looks like 42:9f3a… (sequence, colon, hash), not {text!r}.", problem="witness-form"
            ) from None
        if len(head.hash) != 32 or head.seq < 0:
            raise InputError("A witnessed head's hash has 64 hex digits.", problem="witness-hash")
        return head


class AuditLog:
    """The log of one store; reading entries takes the audit private key (a coordinator's), checking does not."""

    def __init__(self, store: Store, private: x25519.X25519PrivateKey | None = None) -> None:
        self.store = store
        self.private = private

    def append(self, staff: bytes, action: str, count: int, now: dt.datetime) -> Head:
        """Add one entry and move the head, in one transaction."""
        return append(self.store, staff, action, count, now)

    def sealed_rows(self) -> list[Row]:
        return self.store.audit_rows()

    def rows(self) -> list[tuple[AuditEntry, bytes]]:
        """Every entry opened, with its chain hash."""
        if self.private is None:
            raise SiteError("Reading the audit log takes a coordinator's passphrase.")
        private = self.private
        return [(AuditEntry.open(seq, sealed, private), digest) for seq, sealed, digest in self.sealed_rows()]

    def head(self) -> Head | None:
        raw = self.store.get_setting(HEAD_SETTING)
        return None if raw is None else Head.unpack(raw)

    def verify(self, witnesses: tuple[Head, ...] = ()) -> Head:
        """Recompute the chain; return the head, or raise :class:`AuditTamperedError` at the first fault."""
        head = verify_rows(self.sealed_rows(), self.head(), witnesses)
        if self.private is not None:
            self.rows()  # every entry opens, in its own place
        return head


def append(store: Store, staff: bytes, action: str, count: int, now: dt.datetime) -> Head:
    """Add one entry and move the head, in one transaction (the caller's, if one is open: a change and
    its entry commit together)."""
    with store.transaction():
        last = store.last_audit()
        seq, previous = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
        public = store.get_setting(AUDIT_PUBLIC)
        if public is None:
            raise SiteError("This site has no audit key.")
        sealed = AuditEntry(seq, hour(now), staff, action, count).seal(public)
        head = Head(seq, chain(previous, seq, sealed))
        store.append_audit(AuditRow(seq, sealed, head.hash), head.pack())
    return head


def verify_rows(rows: list[Row], head: Head | None, witnesses: tuple[Head, ...] = ()) -> Head:
    previous = GENESIS
    seen: dict[int, bytes] = {0: GENESIS}
    for position, (seq, sealed, stored) in enumerate(rows, start=1):
        if seq != position:
            raise AuditTamperedError.fault("out-of-place", position, found=seq)
        digest = chain(previous, seq, sealed)
        if digest != stored:
            raise AuditTamperedError.fault("chain", seq)
        seen[seq] = digest
        previous = digest
    last = Head(len(rows), previous)
    if head is None:
        if rows:
            raise AuditTamperedError.fault("no-head")
    elif head != last:
        if head.seq > last.seq:
            raise AuditTamperedError.fault("cut", last.seq + 1, last=last.seq, head=head.seq)
        raise AuditTamperedError.fault("head", last.seq)
    for witness in witnesses:
        if seen.get(witness.seq) != witness.hash:
            raise AuditTamperedError.fault("witness", witness.seq)
    return last
