"""Bundles: sealed rows for sneakernet (a USB stick, a phone, any file channel), written and read as
streams in bounded memory.

Sign, then encrypt, then nothing in the clear (format 2; docs/sync.md, "Bundles")::

    file    = HPKE(recipient, content key, info="haven/v2/bundle")  ; enc 32 || key 32 || tag 16
              || frame 0 || frame 1 || ... || frame n-1
    frame i = AES-256-GCM(content key, nonce = i as 12 bytes BE, aad = "haven/v2/bundle-frame" || final,
                          the stream's next FRAME bytes)           ; final = 1 for the last frame only
    stream  = head length u32 || head || rows || 36 zero bytes || signature 64 || 0x80 || 0x00*
    head    = {1: "haven/v2/bundle", 2: sender, 3: roster / null, 5: summary / null, 6: recipient / null}
    rows    = (locator 16 || id 16 || length u32 || sealed) repeated, in strictly increasing key order
    signature = Ed25519 by the sender over SHA-512("haven/v2/bundle-signed" 0x00 || the stream up to it)

HPKE (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, as the audit log uses) seals a
fresh content key to the roster's network key, or to one member's encryption key. A frame's counter
is its nonce and only the last is sealed as final, so a frame dropped, repeated, moved, or added after
the last, or a file cut at a frame's edge, fails to open. The file has no header, no version and no
sender in the clear: a found stick holds random bytes of a rounded length (the stream is Padmé-padded,
Nikitin et al. 2019: at most O(log log n) bits of its size, under 12% overhead, under 3% above a few
MB, at least 64 KiB). A bundle is read twice: first checked whole (it opens, its sender is a member,
the signature holds, every row has a record's shape) before a single row is written, then read again
inside the merge's transaction, which commits only if the second reading hashes to what was checked.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven.certs import cbor
from haven.core.keys import LOCATOR_BYTES
from haven.core.records import NONCE_BYTES, PAD_BLOCK, RECORD_ID_BYTES, RECORD_VERSION, SealedRecord
from haven.errors import BundleInvalidError, BundleUnreadableError, HavenError
from haven.sync.roster import KEY_BYTES, Member, Roster, SiteKeys

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO = b"haven/v2/bundle"
FRAME = 64 * 1024  # the stream's bytes per frame (the last frame may hold fewer)
MIN_PADDED = 64 * 1024
MAX_SEALED = 1 << 20  # far above any visit record (a few KiB); a bigger "row" is not one
_LABEL = "haven/v2/bundle"
_SIGNED = b"haven/v2/bundle-signed\x00"
_FRAME_AAD = b"haven/v2/bundle-frame"
_LENGTH = struct.Struct(">I")
_TAG_BYTES = 16
_HEADER_BYTES = 32 + 32 + _TAG_BYTES  # HPKE's enc, then the content key sealed
_END_ROW = bytes(LOCATOR_BYTES + RECORD_ID_BYTES + _LENGTH.size)  # no record has length 0
_MAX_HEAD = 16 << 20  # a state of all 65,536 buckets is about 1 MiB, a roster of thousands of sites less
_SIGNATURE_BYTES = 64
_VERSION_1_CHECKED = 256 << 20  # a format-1 file up to this size is recognised (and refused as such)


def padme(length: int) -> int:
    """The Padmé length for ``length`` bytes: its lowest bits rounded up so only O(log log n) bits stay.

    >>> padme(1000), padme(1 << 20), padme(300_000_001)
    (1024, 1048576, 301989888)
    """
    if length < 2:
        return length
    exponent = length.bit_length() - 1
    low = exponent - exponent.bit_length()
    mask = (1 << low) - 1
    return (length + mask) & ~mask


def pack_rows(rows: Iterable[SealedRecord]) -> bytes:
    ordered = sorted(rows, key=lambda r: (r.locator, r.id))
    return b"".join(r.locator + r.id + _LENGTH.pack(len(r.sealed)) + r.sealed for r in ordered)


def unpack_rows(data: bytes) -> list[SealedRecord]:
    """Rows out of a bundle, each checked for a record's shape; :class:`BundleInvalidError` otherwise."""
    out: list[SealedRecord] = []
    append, unpack, size = out.append, _LENGTH.unpack_from, len(data)
    key, head = LOCATOR_BYTES + RECORD_ID_BYTES, LOCATOR_BYTES + RECORD_ID_BYTES + _LENGTH.size
    version = RECORD_VERSION
    at = 0
    while at < size:
        if at + head > size:
            raise BundleInvalidError("A row of this bundle is cut short; nothing was imported.", row=len(out))
        (length,) = unpack(data, at + key)
        end = at + head + length
        if length > MAX_SEALED or end > size:
            raise BundleInvalidError("A row of this bundle is cut short; nothing was imported.", row=len(out))
        body = length - 1 - NONCE_BYTES - _TAG_BYTES
        if data[at + head] != version or body < PAD_BLOCK or body % PAD_BLOCK:
            raise BundleInvalidError("A row of this bundle is not a sealed record; nothing was imported.", row=len(out))
        append(SealedRecord(data[at : at + LOCATOR_BYTES], data[at + LOCATOR_BYTES : at + key], data[at + head : end]))
        at = end
    return out


class _FrameWriter:
    """The stream, sealed a frame at a time as it is written; :meth:`close` pads it and seals the last."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self._out, self._aead = out, AESGCM(key)
        self._buffer = bytearray()
        self._index = self.length = self.written = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.length += len(data)
        while len(self._buffer) > FRAME:  # (strictly: the last frame is never empty)
            self._seal(bytes(self._buffer[:FRAME]), final=False)
            del self._buffer[:FRAME]

    def close(self) -> None:
        padded = max(MIN_PADDED, padme(self.length + 1))
        self.write(b"\x80")
        for start in range(self.length, padded, FRAME):
            self.write(bytes(min(FRAME, padded - start)))
        self._seal(bytes(self._buffer), final=True)

    def _seal(self, plain: bytes, final: bool) -> None:
        sealed = self._aead.encrypt(self._index.to_bytes(12, "big"), plain, _FRAME_AAD + bytes([final]))
        self._out.write(sealed)
        self.written += len(sealed)
        self._index += 1


def write_bundle(
    out: BinaryIO,
    keys: SiteKeys,
    to: x25519.X25519PublicKey,
    rows: Iterable[SealedRecord] = (),
    roster: bytes | None = None,
    summary: bytes | None = None,
    recipient: Member | None = None,
) -> tuple[int, int]:
    """Write a bundle of ``rows`` (in increasing key order, as stores read them) from the site holding
    ``keys`` to ``out``, sealed to ``to`` (the network's key, or ``recipient``'s own): a frame at a time,
    so memory stays bounded. Returns (rows, bytes written)."""
    content_key = os.urandom(32)
    header = bytes(SUITE.encrypt(content_key, to, INFO))
    out.write(header)
    frames = _FrameWriter(out, content_key)
    signed = hashlib.sha512(_SIGNED)

    def emit(data: bytes) -> None:
        signed.update(data)
        frames.write(data)

    head = cbor.dumps(
        {
            1: _LABEL,
            2: keys.member.sign_public,
            3: roster,
            5: summary,
            6: None if recipient is None else recipient.sign_public,
        }
    )
    emit(_LENGTH.pack(len(head)) + head)
    count, last, chunk = 0, b"", []
    for r in rows:
        key = r.locator + r.id
        if key <= last:
            raise ValueError("a bundle's rows are written in increasing key order")
        last = key
        chunk.append(key + _LENGTH.pack(len(r.sealed)) + r.sealed)
        count += 1
        if len(chunk) == 256:
            emit(b"".join(chunk))
            chunk = []
    emit(b"".join(chunk) + _END_ROW)
    frames.write(keys.sign(signed.digest()))
    frames.close()
    return count, len(header) + frames.written


def seal_bundle(
    keys: SiteKeys,
    to: x25519.X25519PublicKey,
    rows: Iterable[SealedRecord] = (),
    roster: bytes | None = None,
    summary: bytes | None = None,
    recipient: Member | None = None,
) -> bytes:
    """:func:`write_bundle` into memory, the rows sorted first (small bundles: tests, state files)."""
    out = io.BytesIO()
    write_bundle(out, keys, to, sorted(rows, key=lambda r: (r.locator, r.id)), roster, summary, recipient)
    return out.getvalue()


def _frames(source: BinaryIO, candidates: Sequence[x25519.X25519PrivateKey]) -> Iterator[bytes]:
    """The stream's frames, each opened in order; :class:`BundleUnreadableError` for any that does not
    (a wrong key, damage, a frame missing, repeated, moved or added, the file cut short)."""
    source.seek(0)
    aead = AESGCM(_content_key(source.read(_HEADER_BYTES), candidates, source))
    index, sealed = 0, source.read(FRAME + _TAG_BYTES)
    while True:
        following = source.read(FRAME + _TAG_BYTES)
        final = not following
        try:
            yield aead.decrypt(index.to_bytes(12, "big"), sealed, _FRAME_AAD + bytes([final]))
        except Exception:  # InvalidTag, or a frame shorter than a tag
            raise BundleUnreadableError() from None
        if final:
            return
        index, sealed = index + 1, following


def _content_key(header: bytes, candidates: Sequence[x25519.X25519PrivateKey], source: BinaryIO) -> bytes:
    for key in candidates:
        try:
            return bytes(SUITE.decrypt(header, key, INFO))
        except Exception:  # any failure: try the next key (a wrong key and a damaged file look alike)
            continue
    if _is_version_1(source, candidates):
        raise BundleUnreadableError(
            "This bundle was written by an earlier version of Haven (bundle format 1), which this version does not "
            "read: export it again from a site running this version; nothing was imported."
        )
    raise BundleUnreadableError()


def _is_version_1(source: BinaryIO, candidates: Sequence[x25519.X25519PrivateKey]) -> bool:
    """Whether the file is a format-1 bundle (one HPKE message; read whole, so only up to a size)."""
    size = source.seek(0, io.SEEK_END)
    if size > _VERSION_1_CHECKED:
        return False
    source.seek(0)
    data = source.read()
    for key in candidates:
        try:
            SUITE.decrypt(data, key, b"haven/v1/bundle")
            return True
        except Exception:
            continue
    return False


class _Reading:
    """What a reading of the stream found besides its rows."""

    def __init__(self) -> None:
        self.head: dict[int, Any] = {}
        self.signature = self.digest = b""
        self.rows = 0


def _read(
    source: BinaryIO, candidates: Sequence[x25519.X25519PrivateKey], found: _Reading
) -> Iterator[list[SealedRecord]]:
    """The rows of the stream, a frame's worth at a time, each checked; what else it holds into ``found``."""
    signed = hashlib.sha512(_SIGNED)
    buffer, at = b"", 0
    frames = _frames(source, candidates)

    def more() -> None:
        nonlocal buffer, at
        try:
            buffer = buffer[at:] + next(frames)
        except StopIteration:
            raise BundleInvalidError("This bundle is malformed inside (cut short); nothing was imported.") from None
        at = 0

    while len(buffer) < _LENGTH.size:
        more()
    (head_length,) = _LENGTH.unpack_from(buffer)
    if head_length > _MAX_HEAD:
        raise BundleInvalidError("This bundle is malformed inside; nothing was imported.")
    while len(buffer) < _LENGTH.size + head_length:
        more()
    at = _LENGTH.size + head_length
    signed.update(buffer[:at])
    try:
        head = cbor.loads(buffer[_LENGTH.size : at], "bundle", canonical=True)
    except HavenError:
        head = None
    if not isinstance(head, Mapping) or set(head) != {1, 2, 3, 5, 6} or head[1] != _LABEL:
        raise BundleInvalidError("This bundle is malformed inside; nothing was imported.")
    found.head = dict(head)
    last, ended = b"", False
    while not ended:
        start = at
        batch: list[SealedRecord] = []
        at, ended, last = _scan(buffer, at, batch, found.rows, last)
        signed.update(buffer[start:at])
        found.rows += len(batch)
        if batch:
            yield batch
        if not ended:
            more()
    while len(buffer) - at < _SIGNATURE_BYTES + 1:
        more()
    found.signature, found.digest = buffer[at : at + _SIGNATURE_BYTES], signed.digest()
    at += _SIGNATURE_BYTES
    _check_padding(buffer[at:], frames)


def _check_padding(rest: bytes, frames: Iterator[bytes]) -> None:
    """0x80, then zeros to the end of the last frame."""
    if rest[:1] != b"\x80" or rest.count(0, 1) != len(rest) - 1:
        raise BundleInvalidError("This bundle is malformed inside (its padding); nothing was imported.")
    for frame in frames:
        if frame.count(0) != len(frame):
            raise BundleInvalidError("This bundle is malformed inside (its padding); nothing was imported.")


def _scan(data: bytes, at: int, out: list[SealedRecord], first: int, last: bytes) -> tuple[int, bool, bytes]:
    """Rows of ``data`` from ``at`` while whole ones remain, checked (shape; increasing key order):
    (where it stopped, whether the end of the rows was reached, the last row's key)."""
    size, unpack, version = len(data), _LENGTH.unpack_from, RECORD_VERSION
    key_bytes, head = LOCATOR_BYTES + RECORD_ID_BYTES, LOCATOR_BYTES + RECORD_ID_BYTES + _LENGTH.size
    while at + head <= size:
        (length,) = unpack(data, at + key_bytes)
        key = data[at : at + key_bytes]
        if length == 0 and key == _END_ROW[:key_bytes]:
            return at + head, True, last
        end = at + head + length
        body = length - 1 - NONCE_BYTES - _TAG_BYTES
        if length > MAX_SEALED or body < PAD_BLOCK or body % PAD_BLOCK:
            raise BundleInvalidError(
                "A row of this bundle is not a sealed record; nothing was imported.", row=first + len(out)
            )
        if end > size:
            return at, False, last
        if data[at + head] != version:
            raise BundleInvalidError(
                "A row of this bundle is not a sealed record; nothing was imported.", row=first + len(out)
            )
        if key <= last:
            raise BundleInvalidError(
                "The rows of this bundle are out of order or repeated; nothing was imported.", row=first + len(out)
            )
        out.append(SealedRecord(key[:LOCATOR_BYTES], key[LOCATOR_BYTES:], data[at + head : end]))
        last, at = key, end
    return at, False, last


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle read through once and checked but for its sender (:meth:`check`); its rows are read
    again by :meth:`rows`."""

    sender: bytes
    roster: bytes | None
    summary: bytes | None
    recipient: bytes | None
    count: int
    _signature: bytes
    _digest: bytes
    _source: BinaryIO
    _candidates: tuple[x25519.X25519PrivateKey, ...]

    def check(self, roster: Roster, me: Member | None) -> Member:
        """The sender (a member, not removed), or a typed error: nothing is written before."""
        member = roster.check_sender(self.sender)
        if not member.verify(self._signature, self._digest):
            raise BundleInvalidError("This bundle's signature does not verify: it was altered; nothing was imported.")
        if self.recipient is not None and (me is None or self.recipient != me.sign_public):
            raise BundleInvalidError("This bundle was made for another site; nothing was imported.")
        return member

    def rows(self) -> Iterator[list[SealedRecord]]:
        """The rows again, a batch at a time; at the end, :class:`BundleInvalidError` unless this reading
        is the one checked (the file changed meanwhile): inside a transaction, that rolls it back."""
        again = _Reading()
        yield from _read(self._source, self._candidates, again)
        if again.digest != self._digest or again.signature != self._signature:
            raise BundleInvalidError("This bundle changed while it was being imported; nothing was imported.")


def read_bundle(source: BinaryIO, candidates: Sequence[x25519.X25519PrivateKey]) -> OpenedBundle:
    """Open ``source`` (a seekable file) with the first of ``candidates`` that opens it, and read it through
    once, checking every frame, the head and every row's shape, in bounded memory."""
    found = _Reading()
    for _ in _read(source, candidates, found):
        pass
    head = found.head
    return OpenedBundle(
        sender=_field(head, 2, KEY_BYTES),
        roster=_field(head, 3, optional=True),
        summary=_field(head, 5, optional=True),
        recipient=_field(head, 6, KEY_BYTES, optional=True),
        count=found.rows,
        _signature=found.signature,
        _digest=found.digest,
        _source=source,
        _candidates=tuple(candidates),
    )


def open_bundle(data: bytes, candidates: Sequence[x25519.X25519PrivateKey]) -> OpenedBundle:
    """:func:`read_bundle` of bytes in memory."""
    return read_bundle(io.BytesIO(data), candidates)


def _field(value: Mapping[Any, Any], key: int, size: int | None = None, optional: bool = False) -> Any:
    item = value[key]
    if item is None and optional:
        return None
    if not isinstance(item, bytes) or (size is not None and len(item) != size):
        raise BundleInvalidError("This bundle is malformed inside; nothing was imported.", field=key)
    return item
