"""P7: any order, duplication or interruption of bundles converges to the same set of rows everywhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haven.certs.signing_keys import new_private_key, public_bytes
from haven.core.records import SealedRecord
from haven.store.memory import MemoryStore
from haven.sync import reconcile
from haven.sync.buckets import apply, deltas
from haven.sync.bundle import open_bundle, seal_bundle
from haven.sync.roster import Roster, SiteKeys, new_roster, parse_roster

SITES = 4


@dataclass
class Peer:
    keys: SiteKeys
    store: MemoryStore = field(default_factory=MemoryStore)


def record(locator: bytes | None = None) -> SealedRecord:
    """A row shaped like a sealed record (what a bundle's check accepts)."""
    return SealedRecord(locator or os.urandom(16), os.urandom(16), b"\x01" + os.urandom(12 + 256 + 16))


def network(n: int) -> tuple[list[Peer], Roster, bytes]:
    root = new_private_key(os.urandom)
    peers = [Peer(SiteKeys.generate(os.urandom)) for _ in range(n)]
    from cryptography.hazmat.primitives.asymmetric import x25519

    signed = new_roster(
        None, public_bytes(root), [p.keys.member for p in peers], (), {1: x25519.X25519PrivateKey.generate()}
    ).sign(root)
    return peers, parse_roster(signed, public_bytes(root)), signed


def receive(peer: Peer, data: bytes, roster: Roster, interrupt_after: int | None = None) -> int:
    """What ``haven sync import`` does to the store: open, check whole, merge in one transaction."""
    opened = open_bundle(data, [peer.keys.encryption, *roster.open_network_keys(peer.keys).values()])
    opened.check(roster, peer.keys.member)
    rows = [row for batch in opened.rows() for row in batch]

    def feed() -> Iterator[SealedRecord]:
        for i, row in enumerate(rows):
            if interrupt_after is not None and i == interrupt_after:
                raise KeyboardInterrupt  # the import is cut off mid-merge
            yield row
        if interrupt_after is not None:
            raise KeyboardInterrupt  # cut off after the last row, before the commit

    with peer.store.transaction():
        return peer.store.merge(feed())


step = st.one_of(
    st.tuples(st.just("write"), st.integers(0, SITES - 1), st.integers(1, 4), st.booleans()),
    st.tuples(st.just("export"), st.integers(0, SITES - 1), st.integers(-1, SITES - 1)),
    st.tuples(st.just("deliver"), st.integers(0, 50), st.integers(0, SITES - 1)),
    st.tuples(st.just("interrupt"), st.integers(0, 50), st.integers(0, SITES - 1), st.integers(0, 5)),
    st.tuples(st.just("reconcile"), st.integers(0, SITES - 1), st.integers(0, SITES - 1)),
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=30), st.randoms(use_true_random=False))
def test_any_schedule_of_bundles_converges_to_the_union(schedule: list[tuple[Any, ...]], rng: Any) -> None:
    peers, roster, signed = network(SITES)
    written: set[tuple[bytes, bytes, bytes]] = set()
    in_flight: list[bytes] = []
    for op in schedule:
        kind = op[0]
        if kind == "write":
            _, site, n, shared = op
            # ``shared``: the same locator another site wrote under (two sites' index 0 of one holder).
            existing = [r for p in peers for r in p.store.records()]
            rows = [record(existing[0].locator if shared and existing else None) for _ in range(int(n))]
            peers[int(site)].store.add(rows, [])
            written |= {(r.locator, r.id, r.sealed) for r in rows}
        elif kind == "export":
            _, site, to = op
            sender = peers[int(site)]
            target = roster.network_key() if to == -1 else peers[int(to)].keys.member.enc_key()
            recipient = None if to == -1 else peers[int(to)].keys.member
            in_flight.append(seal_bundle(sender.keys, target, sender.store.records(), signed, recipient=recipient))
        elif kind in ("deliver", "interrupt") and in_flight:
            data = in_flight[int(op[1]) % len(in_flight)]
            peer = peers[int(op[2])]
            before = set(peer.store.records())
            try:
                if kind == "deliver":
                    receive(peer, data, roster)
                else:
                    with pytest.raises(KeyboardInterrupt):
                        receive(peer, data, roster, interrupt_after=int(op[3]))
                    assert set(peer.store.records()) == before  # nothing of a cut-off import stays
            except Exception as exc:  # only a bundle sealed to another site fails, and changes nothing
                assert type(exc).__name__ in ("BundleUnreadableError", "BundleInvalidError")
                assert set(peer.store.records()) == before
        elif kind == "reconcile":
            a, b = peers[int(op[1])], peers[int(op[2])]
            local, remote = reconcile.StorePeer(a.store), reconcile.StorePeer(b.store)
            found = reconcile.plan(local, remote)
            b.store.merge(local.rows(found.send))
            a.store.merge(remote.rows(found.fetch))
    # Then everyone sends everything to everyone, in a shuffled order, some twice.
    final = [(seal_bundle(p.keys, roster.network_key(), p.store.records(), signed), q) for p in peers for q in peers]
    final += final[: len(final) // 3]
    rng.shuffle(final)
    for data, peer in final:
        receive(peer, data, roster)
    for peer in peers:
        assert {(r.locator, r.id, r.sealed) for r in peer.store.records()} == written
        assert peer.store.sync_buckets() == apply({}, deltas((r[0], r[1]) for r in written))
        assert reconcile.plan(reconcile.StorePeer(peer.store), reconcile.StorePeer(peers[0].store)).in_sync
