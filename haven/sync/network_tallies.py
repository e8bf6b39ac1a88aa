"""Network counts: each visit's counter increments sealed a second time, to the network counts key.

A site's own tallies (haven/site/tallies.py) are sealed to its own coordinators and never leave it. For
network totals, a site whose roster carries a **network counts key** (an X25519 key pair made at the
root's site by ``haven network counts-key``; its private half stays there, wrapped under the admin key)
also writes each visit's (and each import batch's) increments as one more row of the records set::

    locator = 16 random bytes
    id      = 8 random bytes || HMAC-SHA256(tag key, those 8 bytes)[:8]
    sealed  = 0x01 || HPKE-Seal(counts key, padded increments, info = "haven/v1/network-tally/" || locator || id)

The sealed value has exactly a sealed record's shape (a version byte, 12 + 256·n + 16 bytes: the HPKE
encapsulated key stands where a record's nonce and first bytes are), so bundles and the hub carry and
reconcile these rows as they do visits: the union of an append-only set, no new table, no new wire form.
The increments are :func:`haven.core.aggregates.encode_tally`'s (keyed by ISO week, the finest time a
report needs, and nothing finer), padded so that every single visit's row has one size
(:data:`ROW_BYTES`). Nothing in the clear names a site or a time: the locator is random, like a first
visit's, and the row is random bytes of a record's size.

The **tag key** is derived from the counts public key, which a member site keeps in the clear (every role
writes these rows) and a roster carries only sealed to the network key: a member site, with any
passphrase, can tell these rows from visits (so count them: about one per visit in the network), a hub or
a found bundle cannot. Only the counts private key opens them; a report sums them all, so totals come
without a per-site breakdown (a site's own report has that, from its own tallies). The sum of those a
report opened is kept for the next (haven/sync/network_fold.py), which opens only the others.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

from haven.core.aggregates import TALLY_VERSION, AggregateKey, decode_tally, padded_size
from haven.core.records import NONCE_BYTES, PAD_BLOCK, RECORD_ID_BYTES, RECORD_VERSION, SealedRecord
from haven.site.tallies import Counts
from haven.store.base import Store

COUNTS_PUBLIC = "sync/counts-public"  # in the clear: every role seals to it
COUNTS_KEY = "sync/counts-key"  # the private half, wrapped under the admin key (the root's site only)
INFO = b"haven/v1/network-tally/"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
LOCATOR_BYTES = 16
_ENC_BYTES = 32  # HPKE's encapsulated X25519 key
_TAG_BYTES = 16
_SALT_BYTES = 8
_LENGTH_BYTES = 4
# The plaintext stands where a record's nonce and padded document are, less the encapsulated key.
_SHIFT = _ENC_BYTES - NONCE_BYTES
ROW_BYTES = 1 + NONCE_BYTES + padded_size(0) + _TAG_BYTES  # one visit's row: a 4-block record's size
assert PAD_BLOCK == 256 and padded_size(0) % PAD_BLOCK == 0


def tag_key(counts_public: bytes) -> bytes:
    return hashlib.sha256(b"haven/v1/network-tally-tag" + counts_public).digest()


def _tag(key: bytes, salt: bytes) -> bytes:
    return hmac.digest(key, salt, "sha256")[: RECORD_ID_BYTES - _SALT_BYTES]


def encode(counts: Mapping[AggregateKey, int]) -> bytes:
    """The increments, framed and zero-padded so that the sealed row has a record's shape."""
    rows = [[*key, n] for key, n in sorted(counts.items()) if n]
    body = cbor2.dumps([TALLY_VERSION, rows], canonical=True)
    framed = len(body).to_bytes(_LENGTH_BYTES, "big") + body
    size = padded_size(len(framed) + _SHIFT) - _SHIFT
    return framed + bytes(size - len(framed))


@dataclass(frozen=True)
class NetworkSealer:
    """Seals a visit's increments as one row of the records set, to the network counts key."""

    counts_public: bytes = field(repr=False)
    random_bytes: Callable[[int], bytes] = field(repr=False)

    @classmethod
    def of(cls, store: Store, random_bytes: Callable[[int], bytes]) -> NetworkSealer | None:
        """This site's sealer; None where its network keeps no network counts."""
        public = store.get_setting(COUNTS_PUBLIC)
        return None if public is None else cls(public, random_bytes)

    def __call__(self, counts: Iterable[AggregateKey] | Mapping[AggregateKey, int]) -> SealedRecord:
        totals = Counter(dict(counts)) if isinstance(counts, Mapping) else Counter(counts)
        locator = self.random_bytes(LOCATOR_BYTES)
        salt = self.random_bytes(_SALT_BYTES)
        row_id = salt + _tag(tag_key(self.counts_public), salt)
        key = x25519.X25519PublicKey.from_public_bytes(self.counts_public)
        sealed = SUITE.encrypt(encode(totals), key, INFO + locator + row_id)
        return SealedRecord(locator, row_id, bytes([RECORD_VERSION]) + sealed)


def is_tally(key: bytes, record: SealedRecord) -> bool:
    """Whether a row is a network tally (``key``: :func:`tag_key` of the counts key); a visit's id is random."""
    salt = record.id[:_SALT_BYTES]
    return hmac.compare_digest(record.id[_SALT_BYTES:], _tag(key, salt))


def open_row(private: x25519.X25519PrivateKey, record: SealedRecord) -> Counter[AggregateKey] | None:
    """The increments of one network tally row, or None if it does not open."""
    try:
        return decode_tally(SUITE.decrypt(record.sealed[1:], private, INFO + record.locator + record.id))
    except Exception:  # damaged, moved, or sealed to another network's key: the same finding
        return None


def read(store: Store, private: x25519.X25519PrivateKey) -> Counts:
    """The network totals: every network tally row this site holds, opened and summed (one pass over the rows)."""
    public = private.public_key().public_bytes_raw()
    key = tag_key(public)
    totals: Counter[AggregateKey] = Counter()
    unreadable = 0
    for record in store.records():
        if not is_tally(key, record):
            continue
        counts = open_row(private, record)
        if counts is None:
            unreadable += 1
        else:
            totals.update(counts)
    return Counts({k: n for k, n in totals.items() if n}, unreadable)
