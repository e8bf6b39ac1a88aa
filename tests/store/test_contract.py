"""The Store contract, run against every store: memory, SQLite, SQLCipher and PostgreSQL.

What the site relies on: all or nothing, re-entrant transactions that keep other writers out,
idempotent merges, the documented orders (records by locator and id, tallies and staff by id, audit
rows by number), settings replaced in place, staff rows forgotten on removal, the audit chain's rows
and head written together, and a closed store refusing work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from haven.core.records import SealedRecord
from haven.errors import StoreClosedError, StoreError
from haven.store import migrations, pg_migrations
from haven.store.base import AUDIT_HEAD, AuditRow, SealedTally, StaffRow, Store
from haven.store.memory import MemoryStore
from haven.store.postgres import PostgresStore
from haven.store.sqlite import SQLiteStore

KEY = bytes(range(32))
LATEST = {MemoryStore: 1, SQLiteStore: migrations.LATEST, PostgresStore: pg_migrations.LATEST}


def record(n: int, locator: int | None = None) -> SealedRecord:
    loc = (locator if locator is not None else n).to_bytes(16, "big")
    return SealedRecord(loc, n.to_bytes(16, "big"), bytes([n % 256]) * 300)


def tally(n: int) -> SealedTally:
    return SealedTally(n.to_bytes(16, "big"), bytes([n % 256]) * 64)


def audit_row(seq: int) -> AuditRow:
    return AuditRow(seq, bytes([seq]) * 40, bytes([seq]) * 32)


Opener = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "sqlcipher", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a handle on one store's data; a second call opens another (as a second process would)."""
    opened: list[Store] = []
    first: list[MemoryStore] = []

    def open_memory() -> Store:
        if not first:
            first.append(MemoryStore())
            return first[0]
        return first[0].reopen()

    if request.param == "memory":
        make: Opener = open_memory
    elif request.param == "sqlite":
        make = lambda: SQLiteStore(tmp_path / "site.db")  # noqa: E731
    elif request.param == "sqlcipher":
        make = lambda: SQLiteStore(tmp_path / "site.db", key=KEY)  # noqa: E731
    else:
        url = request.getfixturevalue("postgres_url")
        make = lambda: PostgresStore(url)  # noqa: E731

    def tracked() -> Store:
        opened.append(make())
        return opened[-1]

    yield tracked
    for s in opened:
        s.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


def test_store_contract(store: Store) -> None:
    store.add([record(1), record(2, locator=1)], [tally(9)])
    store.add([record(3)], [tally(5), tally(7)])
    assert sorted(r.id for r in store.find([(1).to_bytes(16, "big")])) == [
        (1).to_bytes(16, "big"),
        (2).to_bytes(16, "big"),
    ]
    assert store.find([b"\xff" * 16]) == []
    assert store.tallies() == [tally(5), tally(7), tally(9)]  # in id order, not in the order added
    store.replace_tallies([tally(5).id, tally(9).id], [tally(1)])
    assert store.tallies() == [tally(1), tally(7)]
    assert store.merge([record(3), record(4)]) == 1
    assert store.merge([record(4)]) == 0
    assert len(list(store.records())) == 4
    assert store.get_setting("x") is None
    store.put_setting("x", b"1")
    store.put_setting("x", b"2")
    assert store.get_setting("x") == b"2"
    names = {t.name for t in store.tables()}
    assert {"records", "tallies", "settings"} <= names and "aggregates" not in names


def test_a_transaction_commits_everything_inside_it_or_nothing(store: Store) -> None:
    key = tally(3)
    with pytest.raises(RuntimeError), store.transaction():
        store.add([record(1)], [key])
        with store.transaction():  # a nested block joins the outer transaction
            store.put_setting("x", b"1")
        assert len(store.find([(1).to_bytes(16, "big")])) == 1  # reads inside see the writes
        raise RuntimeError("the audit entry failed")
    assert list(store.records()) == [] and store.tallies() == [] and store.get_setting("x") is None
    with store.transaction():
        store.add([record(1)], [key])
        with store.transaction():
            store.put_setting("x", b"1")
    assert len(list(store.records())) == 1 and store.tallies() == [key] and store.get_setting("x") == b"1"
    with pytest.raises(RuntimeError), store.transaction():
        store.replace_tallies([key.id], [tally(4)])
        raise RuntimeError("the fold's audit entry failed")
    assert store.tallies() == [key]


def test_a_failure_in_a_nested_block_undoes_the_whole_transaction(store: Store) -> None:
    store.put_setting("kept", b"before")
    with pytest.raises(RuntimeError), store.transaction():
        store.put_setting("kept", b"after")
        store.add_staff(StaffRow(b"s" * 16, b"sealed"))
        store.append_audit(audit_row(1), b"head-1")
        with store.transaction():
            store.merge([record(5)])
            store.delete_setting("kept")
            raise RuntimeError("inner")
    assert store.get_setting("kept") == b"before"
    assert (store.staff(), store.audit_rows(), store.get_setting(AUDIT_HEAD), store.count()) == ([], [], None, 0)


def test_find_many_locators(store: Store) -> None:
    store.merge(record(n) for n in range(600))
    found = store.find([n.to_bytes(16, "big") for n in range(0, 600, 2)])
    assert len(found) == 300


def test_add_is_all_or_nothing(store: Store) -> None:
    store.add([record(1)], [])
    with pytest.raises(StoreError):
        store.add([record(2), record(1)], [tally(1)])  # duplicate row: the whole add fails
    assert len(list(store.records())) == 1
    assert store.tallies() == []
    with pytest.raises(StoreError):
        store.add([record(3)], [tally(2), tally(2)])  # a tally id twice: nothing stored either
    assert store.count() == 1 and store.tallies() == []


def test_records_come_in_locator_then_id_order_whatever_the_order_written(store: Store) -> None:
    written = [record(n, locator=(n * 7919) % 13) for n in range(40)]
    store.add(written[:20][::-1], [])
    store.merge(written[20:])
    assert list(store.records()) == sorted(written, key=lambda r: (r.locator, r.id))
    assert store.count() == 40


def test_merge_is_a_union_and_idempotent(store: Store) -> None:
    store.add([record(1), record(2)], [])
    batch = [record(2), record(3), record(3), record(4)]  # one already here, one twice in the batch
    assert store.merge(batch) == 2
    assert store.merge(batch) == 0
    assert store.merge([]) == 0
    assert [r.id for r in store.records()] == [record(n).id for n in (1, 2, 3, 4)]


def test_a_merge_that_fails_half_way_stores_none_of_it(store: Store) -> None:
    def rows() -> Iterator[SealedRecord]:
        yield record(1)
        yield record(2)
        raise RuntimeError("the bundle was cut short")

    with pytest.raises(RuntimeError):
        store.merge(rows())
    assert store.count() == 0


def test_settings_are_replaced_deleted_and_listed_by_prefix(store: Store) -> None:
    for name in ("keys/b", "keys/a", "keysx", "keys%", "keys_/1", "trust"):
        store.put_setting(name, name.encode())
    store.put_setting("keys/a", b"again")
    assert store.get_setting("keys/a") == b"again"
    assert store.setting_names("keys/") == ["keys/a", "keys/b"]
    assert store.setting_names("keys_") == ["keys_/1"]  # a prefix is text, never a pattern
    assert store.setting_names() == sorted(["keys/b", "keys/a", "keysx", "keys%", "keys_/1", "trust"])
    store.delete_setting("keys/a")
    store.delete_setting("never-there")
    assert store.get_setting("keys/a") is None and store.setting_names("keys/") == ["keys/b"]
    store.put_setting("empty", b"")
    assert store.get_setting("empty") == b""


def test_staff_rows_are_forgotten_on_removal_but_keep_their_id(store: Store) -> None:
    a, b, c = (bytes([n]) * 16 for n in (3, 1, 2))
    for staff_id in (a, b, c):
        store.add_staff(StaffRow(staff_id, b"sealed-" + staff_id[:1]))
    with pytest.raises(StoreError):
        store.add_staff(StaffRow(a, b"other"))  # an id is never reused
    store.remove_staff(b, "2026-11-29")
    assert store.staff() == [StaffRow(b, None, "2026-11-29"), StaffRow(c, b"sealed-\x02"), StaffRow(a, b"sealed-\x03")]
    assert [r.id for r in store.staff(active_only=True)] == [c, a]  # in id order
    assert store.is_active_staff(a) and not store.is_active_staff(b) and not store.is_active_staff(b"\x09" * 16)
    store.clear_staff()
    assert store.staff() == []


def test_audit_rows_and_their_head_are_written_together(store: Store) -> None:
    assert store.last_audit() is None and store.audit_rows() == []
    for seq in (1, 2, 3):
        store.append_audit(audit_row(seq), b"head-%d" % seq)
    assert store.audit_rows() == [audit_row(1), audit_row(2), audit_row(3)]
    assert store.last_audit() == audit_row(3) and store.get_setting(AUDIT_HEAD) == b"head-3"
    with pytest.raises(StoreError):
        store.append_audit(audit_row(2), b"head-forged")  # a number already written: head unmoved
    assert store.get_setting(AUDIT_HEAD) == b"head-3" and len(store.audit_rows()) == 3
    store.clear_audit()
    assert store.audit_rows() == [] and store.get_setting(AUDIT_HEAD) is None


def test_every_store_reports_its_latest_schema_and_no_older_tables(store: Store) -> None:
    assert store.schema_version() == LATEST[type(store)]
    store.tune_for_bulk(64)  # a hint: every store takes it
    for table in ("staff_v3", "audit_v3", "aggregates_v4"):
        assert store.legacy_rows(table) is None
        store.drop_legacy(table)  # nothing to drop: no error


def test_tables_show_every_stored_row_raw(store: Store) -> None:
    store.add([record(1)], [tally(2)])
    store.put_setting("trust", b"list")
    store.add_staff(StaffRow(b"s" * 16, b"sealed-account"))
    store.append_audit(audit_row(1), b"head")
    tables = {t.name: t for t in store.tables()}
    r = record(1)
    assert tables["records"].rows == [(r.locator, r.id, r.sealed)]
    assert tables["tallies"].rows == [tuple(tally(2))]
    assert (b"s" * 16, b"sealed-account", None) in tables["staff"].rows
    assert tables["audit"].rows == [tuple(audit_row(1))]
    assert ("trust", b"list") in tables["settings"].rows and (AUDIT_HEAD, b"head") in tables["settings"].rows


def test_threads_share_a_store(store: Store) -> None:
    def work(base: int) -> None:
        for n in range(50):
            store.add([record(base + n)], [tally(base + n)])
            store.find([record(base + n).locator])

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.records())) == 200
    assert len(store.tallies()) == 200


def test_no_other_writer_commits_inside_a_transaction(opener: Opener) -> None:
    """A read-then-write (the next visit index, the next audit number) is safe: another writer, on
    another thread or another handle (process) on the same data, waits for the transaction to end."""
    one = opener()
    other = opener()
    one.put_setting("n", b"0")
    started, done = threading.Event(), threading.Event()

    def writer() -> None:
        started.set()
        other.put_setting("n", b"other")
        done.set()

    with one.transaction():
        value = one.get_setting("n")
        thread = threading.Thread(target=writer)
        thread.start()
        started.wait(5)
        time.sleep(0.3)
        assert not done.is_set()  # still waiting for this transaction
        one.put_setting("n", (value or b"") + b"+1")
    thread.join(15)
    assert done.is_set() and one.get_setting("n") == b"other" and other.get_setting("n") == b"other"


def test_what_one_handle_commits_the_next_one_opened_sees(opener: Opener) -> None:
    first = opener()
    first.add([record(1)], [tally(1)])
    first.add_staff(StaffRow(b"s" * 16, b"x"))
    first.close()
    second = opener()
    assert second.count() == 1 and second.tallies() == [tally(1)] and second.is_active_staff(b"s" * 16)


def test_a_closed_store_refuses_work_but_finishes_a_transaction_begun_before(store: Store) -> None:
    with store.transaction():
        store.put_setting("a", b"1")
        store.close()
        store.put_setting("b", b"2")  # the transaction in flight still ends as a whole
    assert store.wait_closed(5)
    for call in (store.count, store.tallies, lambda: store.get_setting("a"), store.staff, store.audit_rows):
        with pytest.raises(StoreClosedError):
            call()
    with pytest.raises(StoreClosedError), store.transaction():
        pass


def test_bucket_digests_follow_the_rows_through_add_merge_and_rollback(store: Store) -> None:
    """The sync section (docs/sync.md): every store keeps each bucket's digest equal to its rows'."""
    from haven.sync.buckets import apply, bucket_of, deltas

    def expected() -> dict[int, object]:
        return apply({}, deltas((r.locator, r.id) for r in store.records()))

    store.add([record(1), record(2, locator=1)], [])
    assert store.merge([record(2, locator=1), record(3), record(3), record(0xFFFF << 112)]) == 2
    assert store.merge([record(5)]) == 1
    assert store.sync_buckets() == expected() and len(expected()) == 2  # locators 1..5 share bucket 0
    with pytest.raises(RuntimeError), store.transaction():
        store.merge([record(9 << 120)])
        raise RuntimeError("cut short")
    assert store.sync_buckets() == expected()
    assert store.sync_buckets([0, 7]) == {0: expected()[0]}
    assert sorted(r.id for r in store.sync_rows([0xFFFF])) == [record(0xFFFF << 112).id]
    assert {bucket_of(r.locator) for r in store.sync_rows([0])} == {0} and len(store.sync_rows([0])) == 4


def test_bulk_merges_keep_digests_and_sync_rows_picks_exactly_the_buckets_asked(store: Store) -> None:
    """A first sync's sizes: merges touching most buckets (one scan of the digests, set-wise updates),
    a merge of rows partly held (those buckets recomputed), and bucket reads that scan across buckets
    not asked for (and must drop their rows)."""
    import random

    from haven.sync.buckets import BUCKETS, apply, bucket_of, deltas

    rng = random.Random(7)
    rows = [SealedRecord(rng.randbytes(16), rng.randbytes(16), rng.randbytes(40)) for _ in range(12_000)]
    assert store.merge(rows[:8_000]) == 8_000
    assert store.merge(rows[4_000:]) == 4_000  # half already held: the touched buckets are recomputed
    assert store.sync_buckets() == apply({}, deltas((r.locator, r.id) for r in rows))
    asked = [*sorted(rng.sample(range(BUCKETS), 5_000)), 0xFFFF]
    expected = sorted((r.locator, r.id) for r in rows if bucket_of(r.locator) in set(asked))
    assert sorted((r.locator, r.id) for r in store.sync_rows(asked)) == expected
    assert store.sync_rows([]) == []


def test_the_lot_register_is_kept_as_settings_in_register_order(store: Store) -> None:
    from haven.app.lots import load_register, setting_name
    from haven.core.lots import lot_to_bytes, parse_lot, retired

    lots = [parse_lot("td", f"T{n}", "2027-01-31", n * 10, number=n) for n in (10, 2, 1)]
    with store.transaction():
        for lot in lots:
            store.put_setting(setting_name(lot.number), lot_to_bytes(lot))
    store.put_setting(setting_name(2), lot_to_bytes(retired(lots[1])))  # retiring replaces the row in place
    register = load_register(store)
    assert [(x.number, x.lot, x.retired) for x in register.lots] == [
        (1, "T1", False),
        (2, "T2", True),
        (10, "T10", False),
    ]
    assert register.next_number() == 11
