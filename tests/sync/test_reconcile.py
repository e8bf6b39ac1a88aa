"""Bucket digests kept by every store, and reconciliation that moves only what differs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.core.records import SealedRecord
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore
from haven.sync import reconcile
from haven.sync.buckets import BUCKETS, apply, bucket_of, deltas
from haven.sync.reconcile import StorePeer, pack_fingerprints, pack_nodes, unpack_fingerprints, unpack_nodes


def rows(n: int, seed: int = 0) -> list[SealedRecord]:
    import random

    rng = random.Random(seed)
    return [SealedRecord(rng.randbytes(16), rng.randbytes(16), rng.randbytes(40)) for _ in range(n)]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    made: list[object] = []

    def make() -> MemoryStore | SQLiteStore:
        store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / f"s{len(made)}.db")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()  # type: ignore[attr-defined]


def expected_buckets(records: list[SealedRecord]) -> dict[int, object]:
    return apply({}, deltas((r.locator, r.id) for r in records))


def test_add_and_merge_keep_bucket_digests_equal_to_the_rows(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    batch = rows(300)
    store.add(batch[:100], [])
    assert store.merge(batch[50:200]) == 100  # half already there: only the new move the digests
    store.merge(batch[150:300])
    assert store.sync_buckets() == expected_buckets(batch)
    assert store.sync_buckets([bucket_of(batch[0].locator), 7]) == {
        bucket_of(batch[0].locator): expected_buckets(batch)[bucket_of(batch[0].locator)]
    }


def test_same_rows_in_any_order_give_the_same_digests(make_store) -> None:  # type: ignore[no-untyped-def]
    batch = rows(200, seed=3)
    a, b = make_store(), make_store()
    a.merge(batch)
    for chunk in (batch[150:], batch[:80], batch[60:160]):
        b.merge(reversed(chunk))
    assert a.sync_buckets() == b.sync_buckets()
    assert reconcile.plan(StorePeer(a), StorePeer(b)).in_sync


def test_sync_rows_returns_exactly_the_buckets_rows(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    edge = [SealedRecord(b"\xff\xff" + os.urandom(14), os.urandom(16), b"x"), SealedRecord(bytes(16), bytes(16), b"y")]
    batch = rows(100) + edge
    store.merge(batch)
    wanted = {bucket_of(batch[0].locator), 0xFFFF, 0}
    got = store.sync_rows(sorted(wanted))
    assert sorted(got, key=lambda r: (r.locator, r.id)) == sorted(
        (r for r in batch if bucket_of(r.locator) in wanted), key=lambda r: (r.locator, r.id)
    )


def test_plan_finds_exactly_the_rows_each_side_lacks(make_store) -> None:  # type: ignore[no-untyped-def]
    common, only_a, only_b = rows(2000, 1), rows(30, 2), rows(7, 3)
    a, b = make_store(), make_store()
    a.merge(common + only_a)
    b.merge(common + only_b)
    local, remote = StorePeer(a), StorePeer(b)
    found = reconcile.plan(local, remote)
    assert {r.id for r in local.rows(found.send)} == {r.id for r in only_a}
    assert {r.id for r in remote.rows(found.fetch)} == {r.id for r in only_b}
    # Only the buckets that differ are looked into.
    assert len(found.buckets) <= len(only_a) + len(only_b)


def test_a_rolled_back_merge_leaves_the_digests_as_they_were(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    store.merge(rows(10))
    before = store.sync_buckets()
    with pytest.raises(RuntimeError), store.transaction():
        store.merge(rows(20, seed=9))
        raise RuntimeError("stop")
    assert store.sync_buckets() == before


def test_wire_forms_round_trip_and_refuse_garbage() -> None:
    nodes = expected_buckets(rows(50))
    assert unpack_nodes(pack_nodes(nodes)) == nodes
    short = unpack_nodes(pack_nodes(nodes, 8))
    assert reconcile.differing(nodes, short, range(BUCKETS)) == []
    parents = [*sorted({i >> 4 for i in nodes})[:5], 4095]
    kids = reconcile.unpack_children(reconcile.pack_children(nodes, parents), parents)
    assert {i: n.digest for i, n in kids.items()} == {i: n.digest[:8] for i, n in nodes.items() if i >> 4 in parents}
    assert reconcile.differing(nodes, kids, reconcile.children(parents)) == []
    fps = {1: {b"a" * 8, b"b" * 8}, 9: set()}
    assert unpack_fingerprints(pack_fingerprints(fps)) == fps
    from haven.errors import InputError

    with pytest.raises(InputError):
        unpack_nodes(pack_nodes(nodes)[:-3])
    with pytest.raises(InputError):
        unpack_fingerprints(pack_fingerprints(fps)[:-3])


def test_migration_fills_the_buckets_of_an_older_site(tmp_path: Path) -> None:
    from sqlcipher3 import dbapi2 as sqlite

    from haven.store import migrations

    path = tmp_path / "old.db"
    conn = sqlite.connect(str(path), isolation_level=None)
    for m in migrations.MIGRATIONS[:5]:
        conn.execute("BEGIN")
        m.apply(conn)
        conn.execute(f"PRAGMA user_version = {m.version}")
        conn.execute("COMMIT")
    batch = rows(40)
    conn.executemany("INSERT INTO records VALUES (?, ?, ?)", [(r.locator, r.id, r.sealed) for r in batch])
    conn.close()
    store = SQLiteStore(path)
    try:
        assert store.sync_buckets() == expected_buckets(batch)
    finally:
        store.close()


def test_descend_tells_which_differing_buckets_each_side_holds_rows_in() -> None:
    shared = rows(50, seed=1)
    mine, theirs = MemoryStore(), MemoryStore()
    mine.merge(shared + rows(300, seed=2))
    theirs.merge(shared + rows(200, seed=3))
    descent = reconcile.descend(StorePeer(mine), StorePeer(theirs))
    assert descent.buckets == reconcile.differing_buckets(StorePeer(mine), StorePeer(theirs))
    held_mine, held_theirs = set(mine.sync_buckets()), set(theirs.sync_buckets())
    assert descent.only_mine == [b for b in descent.buckets if b not in held_theirs] != []
    assert descent.only_theirs == [b for b in descent.buckets if b not in held_mine] != []
    assert descent.both == [b for b in descent.buckets if b in held_mine and b in held_theirs]
    assert set(descent.only_mine) | set(descent.only_theirs) | set(descent.both) == set(descent.buckets)
    assert reconcile.descend(StorePeer(mine), StorePeer(mine)).buckets == []
