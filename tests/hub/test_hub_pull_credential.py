"""The pull-only credential: every role's visit pulls first; the credential pulls and never pushes."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from haven.core.card import Card
from haven.errors import HubError, NotAMemberError
from haven.hub import pull_credential
from haven.hub.client import HubConnection, sync_with_hub
from haven.hub.pull_credential import PullCredential
from haven.site.roles import Role
from haven.store.memory import MemoryStore
from haven.sync.roster import SiteKeys
from tests.helpers_site import ADMIN, CLINICIAN
from tests.hub.network import HubProcess, Network, fake_rows, hub_rows, sync
from tests.hub.test_hub_pull_first import _as_coordinator, _hub_started, clinician_visit
from tests.sync.network import VAX1, make_network

pytestmark = pytest.mark.slow


def _connection(hub: HubProcess, credential: PullCredential) -> HubConnection:
    return HubConnection(hub.url, credential, retries=0)


def test_a_pull_only_credential_pulls_and_cannot_push(hub: HubProcess, network: Network, database: str) -> None:
    writer = MemoryStore()
    writer.merge(fake_rows(4))
    assert sync(writer, network.sites[0], hub.url).pushed == 4
    credential = PullCredential.issue(network.sites[1], secrets.token_bytes)

    reader = MemoryStore()
    reader.merge(fake_rows(3))  # rows the hub lacks: a push would send them
    conn = _connection(hub, credential)
    try:
        assert sync_with_hub(reader, conn, push=False).pulled == 4
        with pytest.raises(HubError, match="pull-only credential cannot push") as refused:
            sync_with_hub(reader, conn)
    finally:
        conn.close()
    assert refused.value.problem == "pull-only"
    assert hub_rows(database) == 4  # nothing of the reader's rows reached the hub


def test_a_pull_key_its_member_did_not_certify_is_refused(hub: HubProcess, network: Network) -> None:
    forged = PullCredential.issue(SiteKeys.generate(secrets.token_bytes), secrets.token_bytes)
    as_member = PullCredential(forged.key, network.sites[0].member.sign_public, forged.certificate)
    conn = _connection(hub, as_member)
    try:
        with pytest.raises(HubError, match="not certified") as refused:
            sync_with_hub(MemoryStore(), conn, push=False)
    finally:
        conn.close()
    assert refused.value.problem == "signature"
    stranger = _connection(hub, forged)  # certified, but by a site outside the roster
    try:
        with pytest.raises(NotAMemberError):
            sync_with_hub(MemoryStore(), stranger, push=False)
    finally:
        stranger.close()


def test_a_clinicians_visit_pulls_first_with_the_sites_pull_credential(database: str, tmp_path: Path) -> None:
    net = make_network(tmp_path, ("a", "b"))
    hub = _hub_started(net, database, tmp_path)
    try:
        card = Card.generate(lambda n: bytes([9]) * n)
        net.add_visit("a", card, VAX1, first=True)
        assert _as_coordinator(net, "a", tmp_path, "hub", "sync", hub.url)["pushed"] == 1
        _as_coordinator(net, "b", tmp_path, "site", "set", "--hub", hub.url)
        with net.sites["b"].unlock(ADMIN) as session:
            assert pull_credential.stored(session.store) is not None
            session.add_staff("Min", Role.CLINICIAN | Role.REGISTRAR, CLINICIAN)
        done = clinician_visit(net, "b", card, tmp_path)
        assert done.returncode == 0, done.stderr
        added = json.loads(done.stdout)
        # The clinician's visit continues the index of the visit pulled from the hub: no second index 0.
        assert added["index"] == 1 and added["hub"] == {"pulled": True, "rows": 1} and done.stderr == ""
        assert sorted(v.index for v in net.history("b", card).visits) == [0, 1]
    finally:
        hub.stop()
