"""The hub answers members only: signed, fresh, never replayed, bounded; every refusal is typed and changes nothing."""

from __future__ import annotations

import http.client
import secrets
import time
from pathlib import Path

import pytest

from haven.errors import HubError, NotAMemberError
from haven.hub import wire
from haven.hub.client import HubConnection
from haven.store.memory import MemoryStore
from haven.sync.roster import SiteKeys
from tests.hub.network import HubProcess, Network, fake_rows, haven, hub_rows, sync


def _post(hub: HubProcess, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, wire.decode(response.read())
    finally:
        conn.close()


def _signed(site: SiteKeys, path: str, body: bytes, at: float | None = None) -> dict[str, str]:
    signer = wire.Signer(site.signing)
    return signer.headers("POST", path, int(time.time() if at is None else at), secrets.token_bytes(16), body)


def _merge_body(rows: int = 3) -> bytes:
    return wire.encode({"rows": wire.rows_to(fake_rows(rows))})


def test_a_site_outside_the_roster_is_refused_and_stores_nothing(hub: HubProcess, database: str) -> None:
    stranger = SiteKeys.generate(secrets.token_bytes)
    store = MemoryStore()
    store.merge(fake_rows(5))
    with pytest.raises(NotAMemberError):
        sync(store, stranger, hub.url)
    status, doc = _post(hub, "/v1/merge", _merge_body(), _signed(stranger, "/v1/merge", _merge_body()))
    assert status == 403 and doc["error"]["code"] == "not-a-member"  # type: ignore[index]
    assert hub_rows(database) == 0


def test_a_removed_member_is_refused_by_the_running_hub_at_once(
    hub: HubProcess, network: Network, database: str, tmp_path: Path
) -> None:
    store = MemoryStore()
    store.merge(fake_rows(5))
    leaving = network.sites[2]
    assert sync(store, leaving, hub.url).pushed == 5
    roster = tmp_path / "roster-2.cose"
    roster.write_bytes(network.remove(leaving))
    done = haven("hub", "roster", "--database", database, str(roster))
    assert done.returncode == 0, done.stderr
    store.merge(fake_rows(5))
    with pytest.raises(NotAMemberError, match="removed"):
        sync(store, leaving, hub.url)
    assert hub_rows(database) == 5
    assert sync(MemoryStore(), network.sites[0], hub.url).pulled == 5  # the others go on


def test_an_older_roster_or_one_from_another_root_is_refused(network: Network, database: str, tmp_path: Path) -> None:
    first, second = tmp_path / "r1.cose", tmp_path / "r2.cose"
    first.write_bytes(network.roster())
    second.write_bytes(network.roster())
    assert haven("hub", "init", "--database", database, "--roster", str(second)).returncode == 0
    older = haven("hub", "roster", "--database", database, str(first))
    assert older.returncode == 34 and older.stderr.count("\n") == 1 and "not newer" in older.stderr
    other = tmp_path / "other.cose"
    other.write_bytes(Network.of(1).roster())
    foreign = haven("hub", "roster", "--database", database, str(other))
    assert foreign.returncode == 34 and "another network" in foreign.stderr


def test_a_forged_a_stale_and_a_replayed_request_are_refused(hub: HubProcess, network: Network, database: str) -> None:
    site = network.sites[0]
    body = _merge_body()
    headers = _signed(site, "/v1/merge", body)
    forged = dict(headers, **{wire.SIGNATURE_HEADER: bytes(64).hex()})
    status, doc = _post(hub, "/v1/merge", body, forged)
    assert (status, doc["error"]["details"]["problem"]) == (401, "signature")  # type: ignore[index]
    other_body = _merge_body()
    status, doc = _post(hub, "/v1/merge", other_body, headers)  # a signature over another body
    assert (status, doc["error"]["details"]["problem"]) == (401, "signature")  # type: ignore[index]
    stale = _signed(site, "/v1/merge", body, at=time.time() - wire.WINDOW_S - 60)
    status, doc = _post(hub, "/v1/merge", body, stale)
    assert (status, doc["error"]["details"]["problem"]) == (401, "stale")  # type: ignore[index]
    assert hub_rows(database) == 0
    status, doc = _post(hub, "/v1/merge", body, headers)
    assert (status, doc) == (200, {"new": 3})
    status, doc = _post(hub, "/v1/merge", body, headers)  # the same request, recorded and sent again
    assert (status, doc["error"]["details"]["problem"]) == (409, "replay")  # type: ignore[index]
    assert hub_rows(database) == 3


def test_a_request_signed_before_a_restart_cannot_be_replayed_after_it(
    hub: HubProcess, network: Network, database: str
) -> None:
    body = _merge_body()
    headers = _signed(network.sites[0], "/v1/merge", body)
    assert _post(hub, "/v1/merge", body, headers)[0] == 200
    hub.kill()
    time.sleep(1.1)
    hub.start()  # a new process: its nonces are gone, but it refuses what was signed before it started
    status, doc = _post(hub, "/v1/merge", body, headers)
    assert (status, doc["error"]["details"]["problem"]) == (401, "stale")  # type: ignore[index]


def test_oversized_and_malformed_bodies_get_one_typed_refusal(hub: HubProcess, network: Network, database: str) -> None:
    site = network.sites[0]
    big = bytes(wire.MAX_BODY + 1)
    status, doc = _post(hub, "/v1/merge", big, _signed(site, "/v1/merge", big))
    assert (status, doc["error"]["details"]["problem"]) == (413, "too-large")  # type: ignore[index]
    bad_rows = [
        wire.encode({"rows": [[bytes(16), bytes(16), bytes(285)]]}),  # rows not packed
        wire.encode({"rows": bytes(32) + (101).to_bytes(4, "big") + b"\x01" + bytes(100)}),  # not a record's size
        wire.encode({"rows": wire.rows_to(fake_rows(1))[:-1]}),  # cut short
        wire.encode({"rows": "nope"}),
        b"\xff not cbor",
        wire.encode({"level": 9, "indices": [1]}),
        wire.encode({"buckets": []}),
        wire.encode({"buckets": list(range(wire.MAX_REQUEST_BUCKETS + 1))}),
        wire.encode({"buckets": [1 << 16]}),
    ]
    for body in bad_rows:
        path = "/v1/nodes" if b"level" in body else "/v1/buckets" if b"buckets" in body else "/v1/merge"
        status, doc = _post(hub, path, body, _signed(site, path, body))
        assert status == 400 and doc["error"]["code"] == "hub", doc  # type: ignore[index]
    bad_row = bytes(32) + (285).to_bytes(4, "big") + b"\x02" + bytes(284)  # not version 1
    body = wire.encode({"rows": wire.rows_to(fake_rows(2)) + bad_row})
    assert _post(hub, "/v1/merge", body, _signed(site, "/v1/merge", body))[0] == 400
    assert hub_rows(database) == 0  # one bad row refuses its whole batch
    unsigned = _post(hub, "/v1/merge", _merge_body(), {})
    assert unsigned[0] == 401


def test_an_unreachable_hub_is_one_clear_error(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("haven.hub.client.RETRIES", 1)
    conn = HubConnection("http://127.0.0.1:9", wire.Signer(network.sites[0].signing))
    with pytest.raises(HubError, match="Cannot reach the hub") as caught:
        conn.call("nodes", {"level": 0, "indices": [0]})
    assert caught.value.problem == "unreachable"
