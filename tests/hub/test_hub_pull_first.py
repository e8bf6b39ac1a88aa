"""Pull before writing: a site that remembers its hub continues a holder's index from the other sites' rows."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from haven.core.card import Card
from haven.store.hub import HubStore
from haven.sync.service import Sync
from tests.helpers_site import ADMIN, CLINICIAN
from tests.hub.network import HubProcess, free_port, haven
from tests.sync.network import TEST, VAX1, Network, make_network

pytestmark = pytest.mark.slow


def _as_coordinator(net: Network, name: str, tmp_path: Path, *args: str) -> dict[str, object]:
    """``haven ARGS`` at site ``name`` with its coordinator's passphrase: the JSON answer (stderr under "stderr")."""
    secret = tmp_path / "passphrase"
    secret.write_text(ADMIN + "\n")
    home = str(net.sites[name].folder.home)
    done = haven("--home", home, "--passphrase-file", str(secret), "--json", *args)
    assert done.returncode == 0, done.stderr
    return {**json.loads(done.stdout), "stderr": done.stderr}


def _visit(net: Network, name: str, card: Card, tmp_path: Path) -> dict[str, object]:
    entries = tmp_path / "visit.json"
    entries.write_text(json.dumps(TEST))
    return _as_coordinator(net, name, tmp_path, "visit", "add", "--card", card.code, "--entries", str(entries))


def clinician_visit(net: Network, name: str, card: Card, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``haven visit add`` of a test at site ``name`` with the clinician's passphrase."""
    secret, entries = tmp_path / "clinician", tmp_path / "visit.json"
    secret.write_text(CLINICIAN + "\n")
    entries.write_text(json.dumps(TEST))
    home = str(net.sites[name].folder.home)
    return haven("--home", home, "--passphrase-file", str(secret), "--json", "visit", "add", "--card", card.code,
                 "--entries", str(entries))  # fmt: skip


def _hub_started(net: Network, database: str, tmp_path: Path) -> HubProcess:
    roster = tmp_path / "roster"
    with net.sites["root"].unlock(ADMIN) as session:
        roster.write_bytes(Sync(session).export_roster())
    assert haven("hub", "init", "--database", database, "--roster", str(roster)).returncode == 0
    return HubProcess(database).start()


def _rows_per_locator(database: str) -> Counter[bytes]:
    db = HubStore(database)
    try:
        return Counter(r.locator for r in db.records())
    finally:
        db.close()


def test_a_site_that_remembers_its_hub_continues_the_index_and_the_hub_links_nothing(
    database: str, tmp_path: Path
) -> None:
    net = make_network(tmp_path, ("a", "b"))
    hub = _hub_started(net, database, tmp_path)
    try:
        card = Card.generate(lambda n: bytes([5]) * n)
        net.add_visit("a", card, VAX1, first=True)
        assert _as_coordinator(net, "a", tmp_path, "hub", "sync", hub.url)["pushed"] == 1
        remembered = _as_coordinator(net, "b", tmp_path, "site", "set", "--hub", hub.url)
        assert remembered["hub"] == hub.url

        added = _visit(net, "b", card, tmp_path)  # no --first-visit: the pulled row is this card's history
        assert added["index"] == 1 and added["first_visit"] is False
        assert added["hub"] == {"pulled": True, "rows": 1} and "warning" not in str(added["stderr"])
        _as_coordinator(net, "b", tmp_path, "hub", "sync", hub.url)

        # What a seized hub can link: two rows, under two locators; no locator holds two rows.
        per_locator = _rows_per_locator(database)
        assert sum(per_locator.values()) == 2 and set(per_locator.values()) == {1}
        assert sorted(v.index for v in net.history("b", card).visits) == [0, 1]
    finally:
        hub.stop()


def test_with_the_hub_down_the_visit_is_still_stored_with_a_warning(tmp_path: Path) -> None:
    net = make_network(tmp_path, ("b",))
    _as_coordinator(net, "b", tmp_path, "site", "set", "--hub", f"http://127.0.0.1:{free_port()}")
    card = Card.generate(lambda n: bytes([6]) * n)
    net.add_visit("b", card, VAX1, first=True)

    added = _visit(net, "b", card, tmp_path)
    assert added["index"] == 1 and added["stored"] is True
    hub = added["hub"]
    assert isinstance(hub, dict) and hub["pulled"] is False and "Cannot reach the hub" in hub["problem"]
    assert str(added["stderr"]).count("\n") == 1 and "warning: not pulled from the hub first" in str(added["stderr"])
    assert sorted(v.index for v in net.history("b", card).visits) == [0, 1]


def test_forgetting_the_hub_records_visits_as_before(tmp_path: Path) -> None:
    net = make_network(tmp_path, ("b",))
    _as_coordinator(net, "b", tmp_path, "site", "set", "--hub", f"http://127.0.0.1:{free_port()}")
    assert _as_coordinator(net, "b", tmp_path, "site", "set", "--hub", "")["hub"] is None
    card = Card.generate(lambda n: bytes([7]) * n)
    net.add_visit("b", card, VAX1, first=True)
    added = _visit(net, "b", card, tmp_path)
    assert "hub" not in added and added["stderr"] == ""


def test_a_session_without_the_sync_key_records_unpulled_with_a_warning(tmp_path: Path) -> None:
    from haven.hub import pull_credential
    from haven.site.roles import Role

    net = make_network(tmp_path, ("b",))
    _as_coordinator(net, "b", tmp_path, "site", "set", "--hub", f"http://127.0.0.1:{free_port()}")
    card = Card.generate(lambda n: bytes([8]) * n)
    net.add_visit("b", card, VAX1, first=True)
    with net.sites["b"].unlock(ADMIN) as session:
        session.add_staff("Min", Role.CLINICIAN | Role.REGISTRAR, CLINICIAN)
        # A site that remembered its hub before pull credentials: a clinician's session has neither key.
        session.store.delete_setting(pull_credential.SETTING)
    done = clinician_visit(net, "b", card, tmp_path)
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    assert added["index"] == 1 and added["hub"]["pulled"] is False and "coordinator" in added["hub"]["problem"]
    assert "warning: not pulled from the hub first" in done.stderr


def test_site_set_without_a_setting_or_with_a_bad_hub_address_changes_nothing(tmp_path: Path) -> None:
    net = make_network(tmp_path, ("b",))
    secret = tmp_path / "passphrase"
    secret.write_text(ADMIN + "\n")
    home = str(net.sites["b"].folder.home)
    for args in ((), ("--hub", "ftp://hub.example.org")):
        done = haven("--home", home, "--passphrase-file", str(secret), "site", "set", *args)
        assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
    with net.sites["b"].unlock(ADMIN) as session:
        assert session.store.get_setting("sync/hub") is None


def test_the_api_answers_the_pull_as_the_command_line_does() -> None:
    from haven.app.clinic import AddedVisit
    from haven.hub.pull import Pulled
    from haven.web.routes.api import VisitAdded

    for pulled in (Pulled(3), Pulled(None, "Cannot reach the hub at http://127.0.0.1:9: Connection refused")):
        added = AddedVisit(index=1, entries=1, first=False, hub=pulled)
        assert VisitAdded(**added.to_doc()).model_dump(exclude_none=True) == added.to_doc()
    plain = AddedVisit(index=0, entries=1, first=True)
    assert VisitAdded(**plain.to_doc()).model_dump(exclude_none=True) == plain.to_doc()
