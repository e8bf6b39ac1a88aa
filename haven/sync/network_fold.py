"""The network report's fold: the sum of the network tallies already opened, so a report opens only new ones.

Opening every network tally (one HPKE open each, haven/sync/network_tallies.py) makes a report's time grow
with the network's visits. After a network report, the root's site keeps **the fold**: the raw sum of the
tallies it opened and one 16-byte digest of each one's ``(locator, id)`` (a row's identity in every
store). The next report starts from that sum and opens only the tallies whose digest is not in it.

Kept as one local setting (:data:`FOLD`) that no bundle or hub carries: settings never leave a site, so the
hub and the members see exactly what they saw before. Sealed with AES-256-GCM under a key derived from the
counts *private* key: only the root's coordinators can read it, and only they can make one. The public
half, which every role at a member or the root holds, could seal a forged fold that skips real tallies;
this key cannot be had from it. The plaintext is Padmé-padded, so its length tells only roughly how many
tallies it holds, as the tally rows themselves already do to any passphrase.

Only tallies whose every count is of an ISO week that ended before the report's week go into the fold: a
digest in it says that tally reached this site before the last network report, which thus never dates a
visit finer than its week already does. The rest are opened at every report until their week is over.

Anything wrong with the fold (another key, damaged, truncated, unknown version, or a folded tally no longer
among the rows) makes the report a full pass, which writes a new fold: never a wrong number.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.core.aggregates import AggregateKey
from haven.core.records import SealedRecord
from haven.site.tallies import Counts
from haven.store.base import Store
from haven.sync.bundle import padme
from haven.sync.network_tallies import is_tally, open_row, tag_key

FOLD = "sync/counts-fold"  # at the root's site only; a setting, so never in a bundle or at the hub
INFO = b"haven/v1/network-fold"
FOLD_VERSION = 1
DIGEST_BYTES = 16
_NONCE_BYTES = 12
_LENGTH_BYTES = 4


@dataclass(frozen=True)
class Fold:
    """The raw sum of the folded tallies (negative sums kept: a correction's may come before what it offsets)."""

    totals: dict[AggregateKey, int]
    rows: frozenset[bytes]


def row_digest(record: SealedRecord) -> bytes:
    return hashlib.blake2b(record.locator + record.id, digest_size=DIGEST_BYTES).digest()


def _key(private: x25519.X25519PrivateKey) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO)
    return AESGCM(hkdf.derive(private.private_bytes_raw()))


def seal(private: x25519.X25519PrivateKey, fold: Fold, nonce: bytes) -> bytes:
    rows = [[*key, n] for key, n in sorted(fold.totals.items()) if n]
    body = cbor2.dumps([FOLD_VERSION, rows, b"".join(sorted(fold.rows))], canonical=True)
    framed = len(body).to_bytes(_LENGTH_BYTES, "big") + body
    padded = framed + bytes(padme(len(framed)) - len(framed))
    return nonce + _key(private).encrypt(nonce, padded, INFO)


def open_fold(private: x25519.X25519PrivateKey, sealed: bytes | None) -> Fold | None:
    """The fold, or None where there is none or it does not open or parse (a full pass then)."""
    if sealed is None:
        return None
    try:
        plain = _key(private).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], INFO)
        length = int.from_bytes(plain[:_LENGTH_BYTES], "big")
        version, rows, digests = cbor2.loads(plain[_LENGTH_BYTES : _LENGTH_BYTES + length])
        if version != FOLD_VERSION or not isinstance(digests, bytes) or len(digests) % DIGEST_BYTES:
            return None
        totals = {AggregateKey(*(int(v) for v in row[:5])): int(row[5]) for row in rows}
        return Fold(totals, frozenset(digests[i : i + DIGEST_BYTES] for i in range(0, len(digests), DIGEST_BYTES)))
    except Exception:  # another key, damaged, truncated or malformed: the same finding
        return None


def read(
    store: Store, private: x25519.X25519PrivateKey, this_week: int, fold: Fold | None
) -> tuple[Counts, Fold | None]:
    """The network totals, opening only the tallies not in ``fold``; and the fold to keep (None: unchanged).

    The same totals and unreadable count as :func:`haven.sync.network_tallies.read`, the full pass: the
    fold's sum plus the new tallies' is the sum of all, and a tally that did not open is never folded."""
    key = tag_key(private.public_key().public_bytes_raw())
    totals: Counter[AggregateKey] = Counter(fold.totals if fold else {})
    folded: Counter[AggregateKey] = Counter(fold.totals if fold else {})
    old = fold.rows if fold is not None else frozenset()
    rows = set(old)
    found = unreadable = 0
    for record in store.records():
        if not is_tally(key, record):
            continue
        digest = row_digest(record)
        if digest in old:
            found += 1
            continue
        counts = open_row(private, record)
        if counts is None:
            unreadable += 1
            continue
        totals.update(counts)
        if all(k.week < this_week for k in counts):  # an ended week's: never dates a visit finer
            folded.update(counts)
            rows.add(digest)
    if found != len(old):  # a folded tally is gone: this fold is not of these rows, so it is replaced
        full, kept = read(store, private, this_week, None)
        return full, kept if kept is not None else Fold({}, frozenset())
    kept = None if len(rows) == len(old) else Fold({k: n for k, n in folded.items() if n}, frozenset(rows))
    return Counts({k: n for k, n in totals.items() if n}, unreadable), kept
