"""Network counts: every member seals each visit's counts to the network counts key too; the root's
coordinators sum them, suppressed like a site's own report, and a seized copy shows random rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from haven.app.application import App
from haven.core.card import Card
from haven.errors import PermissionDeniedError, RosterError
from haven.site.roles import Role
from haven.sync import network_tallies
from haven.sync.bundle import pack_rows, unpack_rows
from tests.helpers_site import ADMIN, CLINICIAN
from tests.hub.network import haven
from tests.sync.network import TEST, VAX1, Network, make_network

NOVEMBER = (dt.date(2026, 9, 28), dt.date(2026, 11, 29))


def _counting_network(tmp_path: Path) -> Network:
    net = make_network(tmp_path, ("a", "b"))
    with net.sync("root") as (_, service):
        roster = service.make_counts_key()
    assert roster.to_doc()["network_counts"] is True
    for name in ("a", "b"):
        net.send_roster(name)
    return net


def _visits(net: Network, name: str, doc: Any, people: int, seed: int) -> None:
    for n in range(people):
        net.add_visit(name, Card.generate(lambda k, n=n: (bytes([seed, n]) * k)[:k]), doc, first=True)


def _own_counts(net: Network, name: str) -> Counter[Any]:
    with net.sites[name].unlock(ADMIN) as session:
        return Counter(session.counts().totals)


def _report(net: Network, name: str, suppress_below: int, network: bool) -> Any:
    with net.sites[name].unlock(ADMIN) as session:
        return App(session).reports.report(*NOVEMBER, "month", suppress_below, network=network)


def _cells(report: Any) -> dict[tuple[str, str, str, str], int | None]:
    return {
        (t.section, t.period.label, *row, column): t.cells[r][c]
        for t in report.tables
        for r, row in enumerate(t.rows)
        for c, column in enumerate(t.columns)
    }


def test_network_totals_are_the_sum_of_every_sites_own_counts_and_are_suppressed_alike(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 6, 1)  # six doses at a: shown at a
    _visits(net, "b", VAX1, 3, 2)  # three at b: hidden at b, nine in the network
    _visits(net, "b", TEST, 2, 3)  # two tests: hidden everywhere
    for name in ("a", "b"):
        net.import_("root", net.export(name))

    expected = _own_counts(net, "a") + _own_counts(net, "b")
    with net.sync("root") as (session, service):
        private = service.counts_private()
        assert private is not None
        read = network_tallies.read(session.store, private)
    assert read.totals == dict(expected) and read.unreadable == 0

    unsuppressed = _cells(_report(net, "root", 1, network=True))
    assert sum(v or 0 for v in unsuppressed.values()) == 11
    shown = _cells(_report(net, "root", 5, network=True))
    at_b = _cells(_report(net, "b", 5, network=False))
    vaccinated = [k for k in unsuppressed if k[0] == "vaccinations"]
    assert [shown[k] for k in vaccinated] == [9] and [at_b[k] for k in vaccinated] == [None]
    assert all(shown[k] is None for k in unsuppressed if k[0] == "tests")
    # A site's own report keeps its own counts only: the rows it imported add nothing to it.
    assert _own_counts(net, "root") == Counter()


def test_the_command_line_makes_the_counts_key_and_reports_network_totals(tmp_path: Path) -> None:
    net = make_network(tmp_path, ("a",))
    made = _cli(net, "root", tmp_path, "network", "counts-key")
    assert made.returncode == 0 and json.loads(made.stdout)["roster"]["network_counts"] is True
    net.send_roster("a")
    _visits(net, "a", VAX1, 5, 7)
    net.import_("root", net.export("a"))
    done = _cli(net, "root", tmp_path, "report", "--network", "--from", "2026-10-01", "--to", "2026-10-31",
                "--by", "month", "--format", "csv")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [(r["item"], r["age_band"], r["count"]) for r in csv.DictReader(io.StringIO(done.stdout))]
    assert rows == [
        ("comirnaty", "unknown", "5"),
        ("comirnaty", "total", "5"),
        ("total", "unknown", "5"),
        ("total", "total", "5"),
    ]
    refused = _cli(net, "a", tmp_path, "report", "--network", "--from", "2026-10-01", "--to", "2026-10-31")
    assert refused.returncode == 34 and refused.stderr.count("\n") == 1 and "network counts key" in refused.stderr


def _cli(net: Network, name: str, tmp_path: Path, *args: str) -> Any:
    secret = tmp_path / "passphrase"
    secret.write_text(ADMIN + "\n")
    home = str(net.sites[name].folder.home)
    return haven("--home", home, "--passphrase-file", str(secret), "--json", *args)


def test_only_the_root_sites_coordinator_reads_network_totals(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    _visits(net, "a", VAX1, 1, 4)
    with net.sites["root"].unlock(ADMIN) as session:
        session.add_staff("Min", Role.CLINICIAN, CLINICIAN)
    with net.sites["root"].unlock(CLINICIAN) as session, pytest.raises(PermissionDeniedError):
        App(session).reports.report(*NOVEMBER, "month", 5, network=True)
    with pytest.raises(RosterError, match="network counts key"):
        _report(net, "a", 5, network=True)  # a member holds the public half only


def test_a_network_tally_row_in_the_clear_is_random_bytes_of_a_records_size(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    before = net.rows("a")
    _visits(net, "a", VAX1, 1, 5)
    _visits(net, "a", TEST, 1, 6)
    with net.sync("a") as (session, _):
        public = session.store.get_setting(network_tallies.COUNTS_PUBLIC)
    assert public is not None
    key = network_tallies.tag_key(public)
    new = [r for r in unpack_rows(pack_rows(_records(net, "a"))) if (r.locator, r.id, r.sealed) not in before]
    tallies = [r for r in new if network_tallies.is_tally(key, r)]
    visits = [r for r in new if not network_tallies.is_tally(key, r)]
    assert len(tallies) == 2 and len(visits) == 2  # each visit: its record and its network tally
    # Every tally row has one size, a sealed record's shape (the bundle's row check accepted them above),
    # and looks random: its bytes are spread as random bytes are, and nothing repeats between two of them.
    assert {len(r.sealed) for r in tallies} == {network_tallies.ROW_BYTES}
    assert all(_entropy(row.sealed[1:]) > 7.5 for row in tallies)  # zero padding would show: it is sealed
    assert tallies[0].locator != tallies[1].locator and tallies[0].sealed[1:33] != tallies[1].sealed[1:33]
    # Without the counts key (a hub, a found bundle) the tag is an HMAC under a key it cannot derive.
    assert not any(network_tallies.is_tally(network_tallies.tag_key(bytes(32)), r) for r in tallies)


def test_the_counts_key_travels_sealed_in_the_roster_so_a_hub_cannot_read_it(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    with net.sync("root") as (session, service):
        roster = service.roster()
        public = session.store.get_setting(network_tallies.COUNTS_PUBLIC)
        data = service.export_roster()
    assert roster is not None and roster.sealed_counts is not None and public is not None
    assert public not in data  # the hub holds the roster's bytes: the key is not among them
    with net.sync("b") as (session, _):
        assert session.store.get_setting(network_tallies.COUNTS_PUBLIC) == public
        assert session.store.get_setting(network_tallies.COUNTS_KEY) is None
    # A removal makes a new network key; the counts key is sealed anew to it.
    with net.sync("root") as (_, service):
        after = service.remove(net.site_id("a"))
        assert after.open_counts_key(service.network_keys()) == public


def _records(net: Network, name: str) -> list[Any]:
    with net.sites[name].unlock(ADMIN) as session:
        return list(session.store.records())


def _entropy(data: bytes) -> float:
    counts = Counter(data)
    return -sum(n / len(data) * math.log2(n / len(data)) for n in counts.values())
