"""Keys derived from a holder's card (and optional PIN).

Without a PIN the root key is ``HKDF-SHA256(secret)``; with a PIN it is
``Argon2id(PIN, salt=secret)`` with fixed, network-wide parameters (every site
must derive the same key). Every other key comes from the root through HKDF
with its own label, so no key is ever used for two purposes:

* ``haven/v1/locator`` -> HMAC key naming where visit ``i`` is stored;
* ``haven/v1/records`` -> AEAD key sealing the visit records.

A wrong PIN yields a different, equally valid-looking root: it finds no
records, exactly as an unknown card does.
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.core.card import Card
from haven.errors import PinError

LOCATOR_BYTES = 16

# Holder-PIN Argon2id parameters. They are part of the v1 format: changing them
# would make every PIN-protected history unreachable, so they are constants.
PIN_TIME_COST = 3
PIN_MEMORY_KIB = 64 * 1024
PIN_PARALLELISM = 1
PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 64


def hkdf(key: bytes, label: str, length: int = 32) -> bytes:
    """HKDF-SHA256 expansion of ``key`` under a Haven label."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode()).derive(key)


def normalise_pin(pin: str) -> bytes:
    """Check a PIN against the rules and return its canonical bytes."""
    pin = unicodedata.normalize("NFC", pin).strip()
    if len(pin) < PIN_MIN_LENGTH:
        raise PinError(f"A PIN has at least {PIN_MIN_LENGTH} characters.")
    if len(pin) > PIN_MAX_LENGTH:
        raise PinError(f"A PIN has at most {PIN_MAX_LENGTH} characters.")
    return pin.encode("utf-8")


@dataclass(frozen=True)
class HolderKeys:
    """The two working keys of one holder. Never printed, never stored."""

    locator_key: bytes = field(repr=False)
    record_key: bytes = field(repr=False)

    @classmethod
    def derive(cls, card: Card, pin: str | None = None) -> HolderKeys:
        """Derive the holder's keys; with a PIN this costs one Argon2id run (~0.1-0.3 s)."""
        if pin is None:
            root = hkdf(card.secret, "haven/v1/root")
        else:
            root = hash_secret_raw(
                normalise_pin(pin),
                card.secret,
                time_cost=PIN_TIME_COST,
                memory_cost=PIN_MEMORY_KIB,
                parallelism=PIN_PARALLELISM,
                hash_len=32,
                type=Type.ID,
            )
        return cls(hkdf(root, "haven/v1/locator"), hkdf(root, "haven/v1/records"))

    def locator(self, index: int) -> bytes:
        """Where visit ``index`` of this holder is stored: HMAC(locator_key, index)."""
        return hmac.digest(self.locator_key, index.to_bytes(8, "big"), "sha256")[:LOCATOR_BYTES]

    def locators(self, start: int, count: int) -> list[bytes]:
        return [self.locator(i) for i in range(start, start + count)]

    @cached_property
    def aead(self) -> AESGCM:
        """The record cipher, built once per holder (an import seals many visits per holder)."""
        return AESGCM(self.record_key)
