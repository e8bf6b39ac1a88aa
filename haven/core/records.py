"""Sealing and opening visit records.

One visit is one record: ``(locator, id, sealed)`` where ``locator`` is
``HMAC(locator_key, index)``, ``id`` is 16 random bytes and ``sealed`` is

    version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM(record_key, plaintext)

with associated data ``"haven/v1/record" || locator || id``, so a sealed value
cannot be moved to another row. The plaintext is the CBOR visit document padded
(ISO/IEC 7816-4: 0x80 then zeros) to a multiple of 256 bytes, so a record's
size does not tell a vaccination from a test. Opening fails one way only.

A correction (:mod:`haven.core.corrections`) is a record like a visit, its document holding
``"correction"`` where a visit's holds ``"entries"``: sealed, padded and placed alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.exceptions import InvalidTag

from haven.core import corrections
from haven.core.corrections import Correction, correction_to_doc, parse_correction
from haven.core.entries import Visit, parse_visit, visit_to_doc
from haven.core.keys import HolderKeys

RECORD_VERSION = 1
RECORD_ID_BYTES = corrections.RECORD_ID_BYTES
NONCE_BYTES = 12
PAD_BLOCK = 256
_AAD_LABEL = b"haven/v1/record"


@dataclass(frozen=True)
class SealedRecord:
    """A record as stored: nothing in it is readable without the holder's keys."""

    locator: bytes
    id: bytes
    sealed: bytes = field(repr=False)


@dataclass(frozen=True)
class OpenedRecord:
    index: int
    id: bytes
    recorded_on: dt.date
    visit: Visit


@dataclass(frozen=True)
class OpenedCorrection:
    index: int
    id: bytes
    recorded_on: dt.date
    correction: Correction


Opened = OpenedRecord | OpenedCorrection


class UnreadableRecord(Exception):
    """A record under this holder's locator that does not open (damaged or foreign)."""


def pad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """ISO/IEC 7816-4 padding to a multiple of ``block``.

    >>> len(pad(b"x" * 10)), len(pad(b"x" * 255)), len(pad(b"x" * 256))
    (256, 256, 512)
    """
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block)


def unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise ValueError("bad padding")
    return end[:-1]


def seal_visit(
    keys: HolderKeys,
    index: int,
    visit: Visit,
    recorded_on: dt.date,
    random_bytes: Callable[[int], bytes],
) -> SealedRecord:
    """Seal visit ``index`` of the holder whose keys are given."""
    return _seal(keys, index, visit_to_doc(visit), recorded_on, random_bytes)


def seal_correction(
    keys: HolderKeys,
    index: int,
    correction: Correction,
    recorded_on: dt.date,
    random_bytes: Callable[[int], bytes],
) -> SealedRecord:
    """Seal a correction as record ``index`` of the holder whose keys are given."""
    return _seal(keys, index, {"correction": correction_to_doc(correction)}, recorded_on, random_bytes)


def _seal(
    keys: HolderKeys, index: int, body: dict[str, Any], recorded_on: dt.date, random_bytes: Callable[[int], bytes]
) -> SealedRecord:
    locator = keys.locator(index)
    record_id = random_bytes(RECORD_ID_BYTES)
    doc = {"v": RECORD_VERSION, "i": index, "on": recorded_on.isoformat(), **body}
    plaintext = pad(cbor2.dumps(doc))
    nonce = random_bytes(NONCE_BYTES)
    ciphertext = keys.aead.encrypt(nonce, plaintext, _AAD_LABEL + locator + record_id)
    return SealedRecord(locator, record_id, bytes([RECORD_VERSION]) + nonce + ciphertext)


def open_record(keys: HolderKeys, record: SealedRecord, index: int) -> Opened:
    """Open a record found under ``keys.locator(index)``; raise :class:`UnreadableRecord` otherwise."""
    blob = record.sealed
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != RECORD_VERSION:
        raise UnreadableRecord("unknown record version")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plaintext = keys.aead.decrypt(nonce, ciphertext, _AAD_LABEL + record.locator + record.id)
        doc: Any = cbor2.loads(unpad(plaintext))
        if doc.get("i") != index:
            raise ValueError("index mismatch")
        on = dt.date.fromisoformat(doc["on"])
        if "correction" in doc:
            if set(doc) != {"v", "i", "on", "correction"}:
                raise ValueError("unknown fields")
            correction = parse_correction(doc["correction"], today=dt.date.max, trusted=True)
            return OpenedCorrection(index=index, id=record.id, recorded_on=on, correction=correction)
        # Records are re-validated on the way out: a future format change fails loudly here.
        visit = parse_visit(
            {k: v for k, v in doc.items() if k in ("entries", "holder", "confirmed")}, today=dt.date.max, trusted=True
        )
    except InvalidTag:
        raise UnreadableRecord("does not open under this card's key") from None
    except Exception as exc:  # opened, but the document inside is damaged or from an unknown version
        raise UnreadableRecord(type(exc).__name__) from None
    return OpenedRecord(index=index, id=record.id, recorded_on=on, visit=visit)
