"""Recovery through the hub: a seized site's holders get their whole history back at a fresh, re-admitted site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from haven.core.card import Card
from haven.sync.service import Sync
from tests.helpers_site import ADMIN
from tests.hub.network import HubProcess, haven
from tests.sync.network import TEST, VAX1, VAX2, Network, make_network

pytestmark = pytest.mark.slow


def _hub_sync(
    net: Network, name: str, url: str, tmp_path: Path, command: tuple[str, ...] = ("hub", "sync")
) -> dict[str, int]:
    """``haven hub sync URL`` (or ``haven sync --hub URL``) at site ``name``, as its coordinator runs it."""
    secret = tmp_path / "passphrase"
    secret.write_text(ADMIN + "\n")
    home = str(net.sites[name].folder.home)
    done = haven("--home", home, "--passphrase-file", str(secret), "--json", *command, url)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _roster(net: Network, path: Path) -> Path:
    with net.sites["root"].unlock(ADMIN) as session:
        path.write_bytes(Sync(session).export_roster())
    return path


def _entries(net: Network, name: str, card: Card) -> list[tuple[int, str]]:
    history = net.history(name, card)
    return sorted((v.index, repr(v.visit.entries)) for v in history.visits)


def test_a_fresh_readmitted_site_gets_every_holders_history_back_from_the_hub(database: str, tmp_path: Path) -> None:
    net = make_network(tmp_path, ("a", "b"))
    assert haven("hub", "init", "--database", database, "--roster", str(_roster(net, tmp_path / "r1"))).returncode == 0
    hub = HubProcess(database).start()
    try:
        first, second = Card.generate(lambda n: bytes([7]) * n), Card.generate(lambda n: bytes([9]) * n)
        net.add_visit("a", first, VAX1, first=True)
        net.add_visit("a", first, VAX2)
        net.add_visit("b", second, TEST, first=True)
        assert _moved(_hub_sync(net, "a", hub.url, tmp_path)) == (0, 2)
        assert _moved(_hub_sync(net, "b", hub.url, tmp_path)) == (2, 1)
        net.add_visit("b", first, TEST)  # the holder moved on: their history continues at b
        _hub_sync(net, "b", hub.url, tmp_path)
        before = {card.code: _entries(net, "b", card) for card in (first, second)}
        assert len(before[first.code]) == 3

        seized = net.site_id("a")
        net.sites["a"].panic()  # site a is raided: its keys are erased, and it is dropped from the network
        with net.sites["root"].unlock(ADMIN) as session:
            Sync(session).remove(seized)
        net.join("c", tmp_path / "c")  # a fresh site, admitted under new keys
        done = haven("hub", "roster", "--database", database, str(_roster(net, tmp_path / "r2")))
        assert done.returncode == 0, done.stderr

        assert _moved(_hub_sync(net, "c", hub.url, tmp_path, ("sync", "--hub"))) == (4, 0)
        after = {card.code: _entries(net, "c", card) for card in (first, second)}
        assert after == before
        assert net.add_visit("c", first, VAX1) == 3  # the next visit continues the index
    finally:
        hub.stop()


def _moved(doc: dict[str, int]) -> tuple[int, int]:
    return doc["pulled"], doc["pushed"]
