"""Set reconciliation over the locator space: find what two stores hold differently, cheaply.

The :data:`~haven.sync.buckets.BUCKETS` bucket digests every store keeps are the leaves of a fixed
tree of fanout 16 (levels 0, the root, to 4, the leaves); a node's digest is the XOR of its
children's, so it is computed from the leaves, never stored. Two peers compare the root, then
only the children of nodes that differ, down to the leaves; within a bucket that differs they
exchange 8-byte row fingerprints, then the rows one side lacks. The cost follows the difference,
and no row needs a timestamp or a sequence number.

Everything here is pure but :class:`StorePeer`; a transport (a state file beside a bundle, the
hub's HTTP) moves :func:`pack_nodes` / :func:`pack_fingerprints` bytes between two
:class:`Peer` objects and calls the same steps (:func:`differing_buckets`, :func:`plan`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from haven.core.records import SealedRecord
from haven.errors import InputError
from haven.store.base import Store
from haven.sync.buckets import BUCKETS, DIGEST_BYTES, EMPTY, FINGERPRINT_BYTES, Bucket, bucket_of, combine
from haven.sync.buckets import fingerprint as row_fingerprint

FANOUT_BITS = 4
FANOUT = 1 << FANOUT_BITS
LEAF_LEVEL = 4  # 16 ** 4 == BUCKETS
assert FANOUT**LEAF_LEVEL == BUCKETS

Nodes = dict[int, Bucket]


def level_size(level: int) -> int:
    return int(FANOUT**level)


def parent_nodes(children: Mapping[int, Bucket]) -> Nodes:
    """One level up: each parent the XOR of its non-empty children."""
    groups: dict[int, list[Bucket]] = {}
    for index, node in children.items():
        groups.setdefault(index >> FANOUT_BITS, []).append(node)
    return {p: combine(group) for p, group in groups.items()}


def tree_levels(leaves: Mapping[int, Bucket]) -> list[Nodes]:
    """Every level of the tree from the non-empty leaves: ``levels[0]`` is the root's, ``levels[4]`` the leaves."""
    levels = [dict(leaves)]
    for _ in range(LEAF_LEVEL):
        levels.insert(0, parent_nodes(levels[0]))
    return levels


def children(indices: Iterable[int]) -> list[int]:
    """The child indices (one level down) of the nodes ``indices``."""
    return [(i << FANOUT_BITS) + c for i in sorted(set(indices)) for c in range(FANOUT)]


def differing(mine: Mapping[int, Bucket], theirs: Mapping[int, Bucket], indices: Iterable[int]) -> list[int]:
    """The nodes among ``indices`` whose digests or counts differ (a missing node is empty). Digests are
    compared on the shorter of the two lengths, so a transport may send them truncated, and a count of
    -1 (unknown: :func:`unpack_children`) is not compared."""
    out = []
    for i in indices:
        a, b = mine.get(i, EMPTY), theirs.get(i, EMPTY)
        n = min(len(a.digest), len(b.digest))
        counted = a.rows >= 0 and b.rows >= 0
        if (counted and a.rows != b.rows) or a.digest[:n] != b.digest[:n]:
            out.append(i)
    return sorted(out)


class Peer(Protocol):
    """One side of a reconciliation: a local store, or a remote one behind a transport."""

    def nodes(self, level: int, indices: Sequence[int]) -> Nodes:
        """The non-empty nodes among ``indices`` at ``level``."""

    def fingerprints(self, buckets: Sequence[int]) -> dict[int, set[bytes]]:
        """The row fingerprints in each of ``buckets``."""


class StorePeer:
    """A store as a :class:`Peer`: the tree computed from its persisted leaf digests (read once)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._levels: list[Nodes] | None = None

    @property
    def levels(self) -> list[Nodes]:
        if self._levels is None:
            self._levels = tree_levels(self.store.sync_buckets())
        return self._levels

    def nodes(self, level: int, indices: Sequence[int]) -> Nodes:
        at = self.levels[level]
        return {i: at[i] for i in indices if i in at}

    def fingerprints(self, buckets: Sequence[int]) -> dict[int, set[bytes]]:
        out: dict[int, set[bytes]] = {b: set() for b in buckets}
        for record in self.store.sync_rows(buckets):
            out[bucket_of(record.locator)].add(row_fingerprint(record.locator, record.id))
        return out

    def rows(self, fingerprints: Mapping[int, set[bytes]]) -> list[SealedRecord]:
        """The records with these fingerprints (by bucket)."""
        wanted = {(b, f) for b, fps in fingerprints.items() for f in fps}
        return [
            r
            for r in self.store.sync_rows(sorted(fingerprints))
            if (bucket_of(r.locator), row_fingerprint(r.locator, r.id)) in wanted
        ]


def differing_buckets(local: Peer, remote: Peer) -> list[int]:
    """The leaf buckets where ``local`` and ``remote`` differ: root first, then only below what differs
    (five exchanges of node digests, each as large as the difference)."""
    return descend(local, remote).buckets


@dataclass(frozen=True)
class Descent:
    """The leaf buckets that differ, and which of them each side holds rows in."""

    buckets: list[int]
    mine: frozenset[int]  # non-empty at the local peer
    theirs: frozenset[int]  # non-empty at the remote peer

    @property
    def only_mine(self) -> list[int]:
        """Buckets only the local side holds rows in: every row there is to send, no fingerprints needed."""
        return [b for b in self.buckets if b not in self.theirs]

    @property
    def only_theirs(self) -> list[int]:
        """Buckets only the remote side holds rows in: every row there is to fetch."""
        return [b for b in self.buckets if b not in self.mine]

    @property
    def both(self) -> list[int]:
        """Buckets both sides hold rows in: their fingerprints say which rows differ."""
        return [b for b in self.buckets if b in self.mine and b in self.theirs]


def descend(local: Peer, remote: Peer) -> Descent:
    """:func:`differing_buckets`, keeping what the leaf level said about each side (an empty leaf is
    absent from a peer's answer), so a first sync skips the fingerprints of buckets one side lacks."""
    indices = [0]
    for level in range(LEAF_LEVEL + 1):
        mine, theirs = local.nodes(level, indices), remote.nodes(level, indices)
        indices = differing(mine, theirs, indices)
        if not indices:
            return Descent([], frozenset(), frozenset())
        if level < LEAF_LEVEL:
            indices = children(indices)
    return Descent(indices, frozenset(b for b in indices if b in mine), frozenset(b for b in indices if b in theirs))


@dataclass(frozen=True)
class Plan:
    """What to move: rows ``local`` has and ``remote`` lacks (send), and the reverse (fetch), by bucket."""

    buckets: list[int]
    send: dict[int, set[bytes]]
    fetch: dict[int, set[bytes]]

    @property
    def in_sync(self) -> bool:
        return not any(self.send.values()) and not any(self.fetch.values())


def compare_fingerprints(mine: Mapping[int, set[bytes]], theirs: Mapping[int, set[bytes]]) -> Plan:
    buckets = sorted(set(mine) | set(theirs))
    send = {b: mine.get(b, set()) - theirs.get(b, set()) for b in buckets}
    fetch = {b: theirs.get(b, set()) - mine.get(b, set()) for b in buckets}
    return Plan(buckets, {b: s for b, s in send.items() if s}, {b: f for b, f in fetch.items() if f})


def plan(local: Peer, remote: Peer) -> Plan:
    """The whole reconciliation between two peers: differing buckets, then their fingerprints."""
    buckets = differing_buckets(local, remote)
    if not buckets:
        return Plan([], {}, {})
    return compare_fingerprints(local.fingerprints(buckets), remote.fingerprints(buckets))


# ---------------------------------------------------------------- wire forms
# Nodes: (index u32, rows u32, digest) repeated; fingerprints: (bucket u16, count u32, fingerprints).

_NODE = struct.Struct(">II")
_FPS = struct.Struct(">HI")


def pack_nodes(nodes: Mapping[int, Bucket], digest_bytes: int = DIGEST_BYTES) -> bytes:
    """Nodes as bytes, in index order, their digests truncated to ``digest_bytes`` (8 is plenty on a wire)."""
    return bytes([digest_bytes]) + b"".join(
        _NODE.pack(i, nodes[i].rows) + nodes[i].digest[:digest_bytes] for i in sorted(nodes)
    )


def unpack_nodes(data: bytes) -> Nodes:
    if not data or not 4 <= data[0] <= DIGEST_BYTES:
        raise InputError("A reconciliation summary is malformed.")
    size = _NODE.size + data[0]
    if (len(data) - 1) % size:
        raise InputError("A reconciliation summary is malformed (cut short).")
    out: Nodes = {}
    for at in range(1, len(data), size):
        index, rows = _NODE.unpack_from(data, at)
        if index in out or index >= BUCKETS:
            raise InputError("A reconciliation summary is malformed (a node twice, or out of range).")
        out[index] = Bucket(data[at + _NODE.size : at + size], rows)
    return out


def pack_children(nodes: Mapping[int, Bucket], parents: Sequence[int], digest_bytes: int = 8) -> bytes:
    """The children of ``parents`` (in that order) as bare digests, 16 per parent, an empty child as zeros:
    the compact answer to "the children of these nodes" (no indices, no counts: a differing digest is
    enough to descend, and an empty node's digest is zero)."""
    return b"".join(
        nodes.get(child, EMPTY).digest[:digest_bytes].ljust(digest_bytes, b"\0") for child in children(parents)
    )


def unpack_children(data: bytes, parents: Sequence[int], digest_bytes: int = 8) -> Nodes:
    """The non-empty children of ``parents`` from :func:`pack_children` (their counts unknown: 0 or 1)."""
    wanted = children(parents)
    if len(data) != len(wanted) * digest_bytes:
        raise InputError("A list of child digests is malformed (its length).")
    out: Nodes = {}
    for n, child in enumerate(wanted):
        digest = data[n * digest_bytes : (n + 1) * digest_bytes]
        if any(digest):
            out[child] = Bucket(digest, -1)
    return out


def pack_fingerprints(fps: Mapping[int, set[bytes]]) -> bytes:
    return b"".join(_FPS.pack(b, len(fps[b])) + b"".join(sorted(fps[b])) for b in sorted(fps))


def unpack_fingerprints(data: bytes) -> dict[int, set[bytes]]:
    out: dict[int, set[bytes]] = {}
    at = 0
    while at < len(data):
        if at + _FPS.size > len(data):
            raise InputError("A fingerprint list is malformed (cut short).")
        bucket, count = _FPS.unpack_from(data, at)
        at += _FPS.size
        end = at + count * FINGERPRINT_BYTES
        if end > len(data) or bucket in out:
            raise InputError("A fingerprint list is malformed.")
        out[bucket] = {data[i : i + FINGERPRINT_BYTES] for i in range(at, end, FINGERPRINT_BYTES)}
        at = end
    return out
