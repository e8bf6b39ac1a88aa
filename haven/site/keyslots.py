"""The key slot file: the site master key, wrapped once per staff passphrase.

Layout (all integers big-endian; the file is always :data:`FILE_BYTES` long)::

    offset  size  field
    0       8     magic "HVNSLOT1"
    8       4     Argon2id time cost (passes)
    12      4     Argon2id memory (KiB)
    16      4     Argon2id lanes
    20      32    site salt (random)
    52      4     erase after this many wrong passphrases in a row (0 = never)
    56      8     check: SHA-256("haven/v1/keyslot-header" || bytes 0-55), first 8 bytes
    64      188   slot 0
    ...           ... SLOTS slots in all

Every slot is ``nonce (12) || AES-256-GCM(slot_key, plaintext (160)) || tag (16)``
with associated data ``"haven/v1/keyslot" || header[0:52] || slot number (2)``.
The check catches a damaged header before any key is derived (a flipped bit in
the Argon2id cost would otherwise make every unlock hang), and the cost must be
one a calibration can choose (:meth:`KdfParams.plausible`), so even a forged
header with a recomputed check makes an unlock fail within seconds.
``slot_key = HKDF(Argon2id(passphrase, salt, params), "haven/v1/keyslot")``, so
one Argon2id run per attempt tries every slot: the right, the duress and a wrong
passphrase all cost exactly the same derivation. A slot nobody uses holds
random bytes of the same length, so the file reveals neither how many staff a
site has nor whether any of them set a duress passphrase.

Plaintext of a slot (160 bytes)::

    0   1   kind: 1 = holds the master key, 2 = duress
    1   1   roles (bit set)
    2   16  staff id (duress slot: the seed of the next site's salt)
    18  32  master key (duress slot: never the key; see below)
    50  1   name length (duress slots only; 0 otherwise)
    51  96  duress slot: the name, UTF-8, zero-padded;
            key slot: the member key (32: it opens this member's record and
            role keys, see haven/site/rolekeys.py), then zero
    147 13  zero

In a duress slot the staff id and master key fields hold what the site rebuilt
by duress needs (see :class:`haven.site.site.DuressKey`): the seed of its salt,
and this passphrase's Argon2id key under that salt. Never the master key.

The file is rewritten in place (``pwrite`` + ``fsync``), never replaced by a
rename, so an overwritten slot's old bytes do not linger in a freed block of
this file (see docs/site-security.md for what a file system or an SSD may still
keep). Duress and panic overwrite it in place too, then remove it and make a new
one, as a fresh site has.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven.core.keys import hkdf
from haven.errors import InputError, SiteError
from haven.site.kdf import SALT_BYTES, KdfParams

MAGIC = b"HVNSLOT1"
HEADER_BYTES = 64
BOUND_HEADER_BYTES = 52  # magic, KDF parameters and salt: bound into every slot
SLOTS = 64
NONCE_BYTES = 12
TAG_BYTES = 16
PLAIN_BYTES = 160
SLOT_BYTES = NONCE_BYTES + PLAIN_BYTES + TAG_BYTES
FILE_BYTES = HEADER_BYTES + SLOTS * SLOT_BYTES
STAFF_ID_BYTES = 16
MASTER_KEY_BYTES = 32
MEMBER_KEY_BYTES = 32
NAME_MAX_BYTES = 96
CHECKED_HEADER_BYTES = 56
MAX_ERASE_AFTER = 10_000
_HEADER = struct.Struct(">8sIII32sI8s")
_AAD_LABEL = b"haven/v1/keyslot"
_CHECK_LABEL = b"haven/v1/keyslot-header"


class SlotKind(IntEnum):
    KEY = 1
    DURESS = 2


@dataclass(frozen=True)
class Header:
    params: KdfParams
    salt: bytes
    erase_after: int = 0
    unchecked: bool = field(default=False, compare=False)  # read from a file made before the check existed

    def pack(self) -> bytes:
        p = self.params
        raw = _HEADER.pack(MAGIC, p.time_cost, p.memory_kib, p.parallelism, self.salt, self.erase_after, bytes(8))
        return raw[:CHECKED_HEADER_BYTES] + _check(raw)

    @property
    def bound(self) -> bytes:
        return self.pack()[:BOUND_HEADER_BYTES]

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        magic, t, m, p, salt, erase_after, check = _HEADER.unpack(raw[:HEADER_BYTES])
        if magic != MAGIC:
            raise SiteError("This site's key slot file is damaged or is not a Haven key slot file (wrong first bytes).")
        legacy = check == bytes(len(check))  # written before headers had a check: it gets one at the next unlock
        if not legacy and not hmac.compare_digest(check, _check(raw)):
            raise SiteError(
                "This site's key slot file is damaged: its header does not match its check. "
                "Restore the folder from a backup; no passphrase can open it as it is."
            )
        params = KdfParams(t, m, p)
        if not params.plausible() or erase_after > MAX_ERASE_AFTER:
            raise SiteError(
                f"This site's key slot file asks for a key cost no calibration makes ({t} passes, "
                f"{m // 1024} MiB, {p} lanes; erase after {erase_after}): it was altered. Restore it from a backup."
            )
        return cls(params, bytes(salt), erase_after, unchecked=legacy)


def _check(raw: bytes) -> bytes:
    return hashlib.sha256(_CHECK_LABEL + raw[:CHECKED_HEADER_BYTES]).digest()[:8]


@dataclass(frozen=True)
class SlotContent:
    kind: SlotKind
    roles: int
    staff_id: bytes
    master_key: bytes = field(default=bytes(MASTER_KEY_BYTES), repr=False)
    name: str = field(default="", repr=False)
    member_key: bytes = field(default=bytes(MEMBER_KEY_BYTES), repr=False)  # zero: a slot of an older Haven

    def pack(self) -> bytes:
        name = self.name.encode("utf-8")
        if len(name) > NAME_MAX_BYTES:
            raise InputError(f"A staff name has at most {NAME_MAX_BYTES} bytes in UTF-8.")
        if len(self.staff_id) != STAFF_ID_BYTES or len(self.master_key) != MASTER_KEY_BYTES:
            raise ValueError("bad slot content")
        if len(self.member_key) != MEMBER_KEY_BYTES or (name and any(self.member_key)):
            raise ValueError("bad slot content")
        tail = name if self.kind == SlotKind.DURESS else self.member_key
        body = bytes([self.kind, self.roles]) + self.staff_id + self.master_key + bytes([len(name)]) + tail
        return body + bytes(PLAIN_BYTES - len(body))

    @classmethod
    def unpack(cls, raw: bytes) -> SlotContent:
        kind, n = SlotKind(raw[0]), raw[50]
        if kind == SlotKind.DURESS:
            return cls(kind, raw[1], raw[2:18], raw[18:50], raw[51 : 51 + n].decode("utf-8"))
        return cls(kind, raw[1], raw[2:18], raw[18:50], member_key=raw[51 : 51 + MEMBER_KEY_BYTES])


class SlotKey:
    """The key that opens the slots of one passphrase (derived once per attempt)."""

    __slots__ = ("_aead",)

    def __init__(self, passphrase_key: bytes) -> None:
        self._aead = AESGCM(hkdf(passphrase_key, "haven/v1/keyslot"))

    def __repr__(self) -> str:
        return "SlotKey(<hidden>)"

    def seal(self, header: Header, index: int, content: SlotContent, random_bytes: Callable[[int], bytes]) -> bytes:
        nonce = random_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, content.pack(), _aad(header, index))

    def open(self, header: Header, index: int, slot: bytes) -> SlotContent | None:
        try:
            plain = self._aead.decrypt(slot[:NONCE_BYTES], slot[NONCE_BYTES:], _aad(header, index))
        except InvalidTag:
            return None
        try:
            return SlotContent.unpack(plain)
        except (ValueError, UnicodeDecodeError):
            return None

    def open_all(self, header: Header, slots: list[bytes]) -> list[tuple[int, SlotContent]]:
        """Try every slot (always all of them, so the work does not depend on which one opens)."""
        opened = [(i, self.open(header, i, slot)) for i, slot in enumerate(slots)]
        return [(i, c) for i, c in opened if c is not None]


def _aad(header: Header, index: int) -> bytes:
    return _AAD_LABEL + header.bound + index.to_bytes(2, "big")


def random_slots(random_bytes: Callable[[int], bytes], count: int = SLOTS) -> list[bytes]:
    return [random_bytes(SLOT_BYTES) for _ in range(count)]


def new_salt(random_bytes: Callable[[int], bytes]) -> bytes:
    return random_bytes(SALT_BYTES)


class KeySlotFile:
    """Reading and in-place writing of ``home/keyslots``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def create(self, header: Header, slots: list[bytes]) -> None:
        """Write a whole new file (refuses to replace one)."""
        data = header.pack() + b"".join(slots)
        assert len(data) == FILE_BYTES
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            write_all(fd, 0, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(self.path.parent)

    def read(self) -> tuple[Header, list[bytes]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise SiteError(f"There is no key slot file in {self.path.parent}.") from None
        except OSError as exc:
            raise SiteError(f"The site's key slot file ({self.path}) cannot be read: {exc.strerror}.") from None
        if len(data) != FILE_BYTES:
            raise SiteError("This site's key slot file is damaged (wrong size).")
        header = Header.unpack(data[:HEADER_BYTES])
        body = data[HEADER_BYTES:]
        return header, [body[i * SLOT_BYTES : (i + 1) * SLOT_BYTES] for i in range(SLOTS)]

    def write(self, header: Header, slots: list[bytes]) -> None:
        """Overwrite the whole file in place, then fsync."""
        data = header.pack() + b"".join(slots)
        assert len(data) == FILE_BYTES
        self._pwrite(0, data)

    def read_slot(self, index: int) -> bytes | None:
        """One slot as it is on disk now (None if unreadable): cheap enough to check on every request."""
        try:
            with open(self.path, "rb") as f:
                f.seek(HEADER_BYTES + index * SLOT_BYTES)
                return f.read(SLOT_BYTES)
        except OSError:
            return None

    def write_slot(self, index: int, slot: bytes) -> None:
        assert len(slot) == SLOT_BYTES and 0 <= index < SLOTS
        self._pwrite(HEADER_BYTES + index * SLOT_BYTES, slot)

    def write_header(self, header: Header) -> None:
        self._pwrite(0, header.pack())

    def _pwrite(self, offset: int, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        try:
            write_all(fd, offset, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self, blocking: bool = True) -> Iterator[bool]:
        """Hold the slot-writing lock (an advisory ``flock``); yields whether it was obtained."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                got = True
            except BlockingIOError:
                got = False
            yield got
        finally:
            os.close(fd)  # closing releases the lock


def write_all(fd: int, offset: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
