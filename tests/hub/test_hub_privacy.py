"""A seized hub: no site, no time, and nothing in PostgreSQL's row places or transaction ids that groups a push."""

from __future__ import annotations

import json
import time
from pathlib import Path

from haven.store.hub import HubStore
from haven.store.memory import MemoryStore
from tests.hub.network import HubProcess, Network, fake_rows, haven, serving, sync


def _physical(database: str) -> list[tuple[str, str, bytes, bytes]]:
    """Every row's place, inserting transaction and key, as PostgreSQL keeps them, in place order."""
    db = HubStore(database)
    try:
        records = next(t for t in db.physical_tables() if t.name == "records")
        return [(str(a), str(b), bytes(c), bytes(d)) for a, b, c, d, _ in records.rows]
    finally:
        db.close()


def _two_sites_push(hub: HubProcess, network: Network) -> tuple[set[bytes], set[bytes]]:
    """Each site pushes its own rows; returns the locators each pushed."""
    a, b = MemoryStore(), MemoryStore()
    a.merge(fake_rows(120))
    b.merge(fake_rows(80))
    pushed = {r.locator for r in a.records()}, {r.locator for r in b.records()}
    sync(a, network.sites[0], hub.url)
    sync(b, network.sites[1], hub.url)
    return pushed


def _wait_reshuffled(database: str) -> None:
    db = HubStore(database)
    try:
        deadline = time.monotonic() + 30
        while db.reshuffle_due():
            assert time.monotonic() < deadline, "the hub did not reshuffle"
            time.sleep(0.2)
    finally:
        db.close()


def test_after_two_sites_push_no_row_place_or_transaction_groups_a_push(
    database: str, network: Network, tmp_path: Path
) -> None:
    with serving(database, network, tmp_path, "--reshuffle-after", "0.5") as hub:
        first, _ = _two_sites_push(hub, network)
        _wait_reshuffled(database)
        rows = _physical(database)
    assert len(rows) == 200
    assert len({xmin for _, xmin, _, _ in rows}) == 1  # one transaction wrote every row
    assert [(loc, rid) for _, _, loc, rid in rows] == sorted((loc, rid) for _, _, loc, rid in rows)
    # so which site sent a row is independent of where it sits: both sites' rows are spread over the table
    places = [loc in first for _, _, loc, _ in rows]
    assert places != sorted(places) and places != sorted(places, reverse=True)


def test_before_the_reshuffle_a_push_is_grouped_which_is_why_it_runs(
    database: str, network: Network, tmp_path: Path
) -> None:
    """The control: without the rewrite, PostgreSQL's own columns tell the two pushes apart."""
    with serving(database, network, tmp_path, "--reshuffle-after", "3600") as hub:
        first, second = _two_sites_push(hub, network)
        rows = _physical(database)
    by_transaction: dict[str, set[bytes]] = {}
    for _, xmin, loc, _ in rows:
        by_transaction.setdefault(xmin, set()).add(loc)
    assert sorted(by_transaction.values(), key=len) == [second, first]


def test_seizure_view_shows_rows_without_site_or_time_and_says_nothing_groups_them(
    hub: HubProcess, network: Network, database: str
) -> None:
    _two_sites_push(hub, network)
    _wait_reshuffled(database)
    done = haven("hub", "seizure-view", "--database", database, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    findings = doc["findings"]
    assert (findings["rows"], findings["inserting_transactions"], findings["places_follow_locators"]) == (200, 1, True)
    assert (findings["members"], findings["removed"], findings["reshuffle_due"]) == (3, 0, False)
    columns = {t["name"]: t["columns"] for t in doc["tables"]}
    assert columns["records"] == ["ctid", "xmin", "locator", "id", "sealed"]
    assert set(columns) == {"records", "sync_buckets", "settings", "tallies", "staff", "audit", "haven_schema"}
    rows = {t["name"]: t["rows"] for t in doc["tables"]}
    assert rows["tallies"] == rows["staff"] == rows["audit"] == []  # a hub is a store with no site in it
    settings = {row[2] for row in next(t for t in doc["tables"] if t["name"] == "settings")["rows"]}
    assert settings == {"roster", "root"}  # no log, no member's last sync
    human = haven("hub", "seizure-view", "--database", database)
    assert "nothing groups the rows of a push" in human.stdout


def test_a_hub_killed_before_its_rewrite_rewrites_when_it_starts_again(
    database: str, network: Network, tmp_path: Path
) -> None:
    with serving(database, network, tmp_path, "--reshuffle-after", "3600") as hub:
        _two_sites_push(hub, network)
        hub.kill()
        assert len({xmin for _, xmin, _, _ in _physical(database)}) > 1
        hub.args = ("--reshuffle-after", "0.2")
        hub.start()
        _wait_reshuffled(database)
    rows = _physical(database)
    assert len(rows) == 200 and len({xmin for _, xmin, _, _ in rows}) == 1
    assert [(loc, rid) for _, _, loc, rid in rows] == sorted((loc, rid) for _, _, loc, rid in rows)
