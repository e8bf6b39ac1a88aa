"""Bucket digests over the locator space: what every store keeps up to date for reconciliation.

Locators are uniformly random (HMAC outputs), so their first two bytes spread records evenly
over :data:`BUCKETS` buckets. A bucket's digest is the XOR of ``SHA-256("haven/v1/sync-row" ||
locator || id)`` truncated to 16 bytes over its records, with their count: adding a record XORs
its digest in, so a store updates a bucket in the same transaction as the insert, and two stores
holding the same rows in a bucket hold the same digest whatever order the rows came in. Nothing
here is a timestamp or a sequence number, and everything is computable from the records alone:
a seized copy learns nothing from the digests that its records table does not already say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import NamedTuple

BUCKET_BYTES = 2
BUCKETS = 1 << (8 * BUCKET_BYTES)
DIGEST_BYTES = 16
FINGERPRINT_BYTES = 8
_LABEL = b"haven/v1/sync-row"


class Bucket(NamedTuple):
    """One node of the tree: the XOR of its rows' digests, and how many rows."""

    digest: bytes
    rows: int


EMPTY = Bucket(bytes(DIGEST_BYTES), 0)


def bucket_of(locator: bytes) -> int:
    """The bucket a locator falls in: its first two bytes, big-endian.

    >>> bucket_of(bytes([1, 2, 3]))
    258
    """
    return int.from_bytes(locator[:BUCKET_BYTES], "big")


def row_digest(locator: bytes, record_id: bytes) -> bytes:
    return hashlib.sha256(_LABEL + locator + record_id).digest()[:DIGEST_BYTES]


def fingerprint(locator: bytes, record_id: bytes) -> bytes:
    """A row's short fingerprint, exchanged within a bucket that differs (8 bytes: collisions are
    2^-64 per pair, and a colliding pair only delays one row to the next sync)."""
    return row_digest(locator, record_id)[:FINGERPRINT_BYTES]


def xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(max(len(a), len(b)), "big")


def combine(nodes: Iterable[Bucket]) -> Bucket:
    digest, count = 0, 0
    for node in nodes:
        digest ^= int.from_bytes(node.digest, "big")
        count += node.rows
    return Bucket(digest.to_bytes(DIGEST_BYTES, "big"), count)


def deltas(keys: Iterable[tuple[bytes, bytes]]) -> dict[int, Bucket]:
    """The change to each touched bucket when the rows ``(locator, id)`` are added (all new)."""
    acc: dict[int, list[int]] = {}
    for locator, record_id in keys:
        slot = acc.setdefault(bucket_of(locator), [0, 0])
        slot[0] ^= int.from_bytes(row_digest(locator, record_id), "big")
        slot[1] += 1
    return {b: Bucket(d.to_bytes(DIGEST_BYTES, "big"), n) for b, (d, n) in acc.items()}


def apply(current: Mapping[int, Bucket], change: Mapping[int, Bucket]) -> dict[int, Bucket]:
    """The touched buckets' new values: ``current`` (missing: empty) with ``change`` XORed in."""
    return {b: combine((current.get(b, EMPTY), delta)) for b, delta in change.items()}
