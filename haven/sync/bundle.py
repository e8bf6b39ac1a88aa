"""Bundles: sealed rows for sneakernet (a USB stick, a phone, any file channel).

Sign, then encrypt, then nothing in the clear::

    file   = HPKE(recipient, padded, info="haven/v1/bundle")     ; enc (32 bytes) || ciphertext
    padded = inner || 0x80 || 0x00*                              ; to a Padmé length, at least 64 KiB
    inner  = [payload: bstr, signature: bstr .size 64]          ; Ed25519 by the sender over payload
    payload = {
      1: "haven/v1/bundle",
      2: sender,        ; bstr .size 32, the sender's signing key (a roster member)
      3: roster,        ; bstr / null: the newest roster the sender holds (root-signed, checked on its own)
      4: rows,          ; bstr: (locator 16 || id 16 || length u32 || sealed) repeated, in key order
      5: summary,       ; bstr / null: a state file's leaf bucket digests (haven/sync/reconcile.py)
      6: recipient,     ; bstr .size 32 / null: the one member it is for, or null for the whole network
    }

HPKE (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, as the audit log uses) seals
to the roster's network key, or to one member's encryption key. The file has no header, no version
and no sender in the clear: a found stick holds random bytes of a rounded length. Padmé padding
(Nikitin et al., 2019) leaks at most O(log log n) bits of the size at under 12% overhead (under 3%
above a few MB). A bundle is checked whole (it opens, its sender is a member, the signature holds,
every row has a record's shape) before a single row is written.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

from haven.certs import cbor
from haven.core.keys import LOCATOR_BYTES
from haven.core.records import NONCE_BYTES, PAD_BLOCK, RECORD_ID_BYTES, RECORD_VERSION, SealedRecord
from haven.errors import BundleInvalidError, BundleUnreadableError
from haven.sync.roster import KEY_BYTES, Member, Roster, SiteKeys, read_signed

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO = b"haven/v1/bundle"
MIN_PADDED = 64 * 1024
MAX_SEALED = 1 << 20  # far above any visit record (a few KiB); a bigger "row" is not one
_LABEL = "haven/v1/bundle"
_LENGTH = struct.Struct(">I")
_TAG_BYTES = 16
_SIGNATURE_BYTES = 64


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


def seal_bundle(
    keys: SiteKeys,
    to: x25519.X25519PublicKey,
    rows: Iterable[SealedRecord] = (),
    roster: bytes | None = None,
    summary: bytes | None = None,
    recipient: Member | None = None,
) -> bytes:
    """A bundle of ``rows`` from the site holding ``keys``, sealed to ``to`` (the network's key, or
    ``recipient``'s own)."""
    payload = cbor.dumps(
        {
            1: _LABEL,
            2: keys.member.sign_public,
            3: roster,
            4: pack_rows(rows),
            5: summary,
            6: None if recipient is None else recipient.sign_public,
        }
    )
    inner = cbor.dumps([payload, keys.sign(payload)])
    padded = inner + b"\x80"
    padded += bytes(max(MIN_PADDED, padme(len(padded))) - len(padded))
    return bytes(SUITE.encrypt(padded, to, INFO))


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle decrypted and parsed, not yet checked against a roster (:meth:`check`)."""

    sender: bytes
    roster: bytes | None
    summary: bytes | None
    recipient: bytes | None
    _payload: bytes
    _signature: bytes
    _rows: bytes

    def check(self, roster: Roster, me: Member | None) -> tuple[Member, list[SealedRecord]]:
        """The sender (a member, not removed) and every row, or a typed error: nothing is written before."""
        member = roster.check_sender(self.sender)
        if not member.verify(self._signature, self._payload):
            raise BundleInvalidError("This bundle's signature does not verify: it was altered; nothing was imported.")
        if self.recipient is not None and (me is None or self.recipient != me.sign_public):
            raise BundleInvalidError("This bundle was made for another site; nothing was imported.")
        return member, unpack_rows(self._rows)


def _candidates_open(data: bytes, candidates: Sequence[x25519.X25519PrivateKey]) -> bytes:
    for key in candidates:
        try:
            return bytes(SUITE.decrypt(data, key, INFO))
        except Exception:  # any failure: try the next key (a wrong key and a damaged file look alike)
            continue
    raise BundleUnreadableError()


def _unpad(padded: bytes) -> bytes:
    end = padded.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise BundleInvalidError("This bundle is malformed inside (its padding); nothing was imported.")
    return end[:-1]


def _field(value: Mapping[Any, Any], key: int, size: int | None = None, optional: bool = False) -> Any:
    item = value[key]
    if item is None and optional:
        return None
    if not isinstance(item, bytes) or (size is not None and len(item) != size):
        raise BundleInvalidError("This bundle is malformed inside; nothing was imported.", field=key)
    return item


def open_bundle(data: bytes, candidates: Sequence[x25519.X25519PrivateKey]) -> OpenedBundle:
    """Decrypt with the first of ``candidates`` that opens it, and parse strictly."""
    signed = read_signed(_unpad(_candidates_open(data, candidates)), "bundle")
    value = None if signed is None else signed[2]
    if signed is None or not isinstance(value, Mapping) or set(value) != {1, 2, 3, 4, 5, 6} or value[1] != _LABEL:
        raise BundleInvalidError("This bundle is malformed inside; nothing was imported.")
    payload, signature, _ = signed
    if len(signature) != _SIGNATURE_BYTES:
        raise BundleInvalidError("This bundle's signature is malformed; nothing was imported.")
    return OpenedBundle(
        sender=_field(value, 2, KEY_BYTES),
        roster=_field(value, 3, optional=True),
        summary=_field(value, 5, optional=True),
        recipient=_field(value, 6, KEY_BYTES, optional=True),
        _payload=payload,
        _signature=signature,
        _rows=_field(value, 4),
    )
