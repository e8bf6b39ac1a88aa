"""Network counts follow a correction made at another site than the one that recorded the entry."""

from __future__ import annotations

import os
from pathlib import Path

from haven.core.card import Card
from haven.core.history import entry_id
from haven.sync import network_tallies
from tests.helpers_site import ADMIN
from tests.sync.network import TEST, VAX1
from tests.sync.test_network_counts import _counting_network


def test_a_void_at_another_site_takes_the_entry_out_of_the_network_totals(tmp_path: Path) -> None:
    net = _counting_network(tmp_path)
    card = Card.generate(os.urandom)
    net.add_visit("a", card, VAX1 + TEST, first=True)
    net.import_("b", net.export("a"))
    with net.sites["b"].unlock(ADMIN) as session:
        visit = session.clinic().history(card).visits[0]
        session.clinic().correct(card, entry_id(visit, 1), "void", None, "recorded on the wrong card")
        session.clinic().correct(card, entry_id(visit, 0), "amend", {**VAX1[0], "dose": 2}, "dose misread")
    for name in ("a", "b"):
        net.import_("root", net.export(name))
    with net.sync("root") as (session, service):
        private = service.counts_private()
        assert private is not None
        totals = network_tallies.read(session.store, private).totals
    assert [(key.kind, key.detail, n) for key, n in totals.items()] == [(1, 2, 1)]  # one dose 2, no test
