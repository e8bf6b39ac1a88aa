"""Bundles between sites: one history everywhere, and every bad bundle refused whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from haven.core.card import Card
from haven.errors import BundleInvalidError, BundleUnreadableError, NotAMemberError, RosterError
from tests.sync.network import TEST, VAX1, VAX2, Network, make_network, snapshot


@pytest.fixture
def net(tmp_path: Path) -> Network:
    return make_network(tmp_path)


def test_a_bundle_brings_another_sites_visits_into_one_history(net: Network) -> None:
    card = Card.generate(os.urandom)
    assert net.add_visit("a", card, VAX1, first=True) == 0
    result = net.import_("b", net.export("a"))
    assert (result.new, result.present) == (1, 0)
    # The next visit at b continues the index, and the history shows both.
    assert net.add_visit("b", card, VAX2) == 1
    net.import_("a", net.export("b"))
    for name in ("a", "b"):
        history = net.history(name, card)
        assert [v.index for v in history.visits] == [0, 1]
    assert net.rows("a") == net.rows("b")
    again = net.import_("b", net.export("a"))
    assert (again.new, again.present) == (0, 2)


def refused_whole(net: Network, name: str, data: bytes, error: type[Exception]) -> Exception:
    before = snapshot(net.sites[name])
    with pytest.raises(error) as caught:
        net.import_(name, data)
    assert snapshot(net.sites[name]) == before  # not a row, setting or audit entry written
    return caught.value


def test_a_tampered_or_truncated_bundle_is_refused_whole(net: Network) -> None:
    for _ in range(3):
        net.add_visit("a", Card.generate(os.urandom), VAX1, first=True)
    data = net.export("a")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    refused_whole(net, "b", bytes(flipped), BundleUnreadableError)
    refused_whole(net, "b", data[:-1], BundleUnreadableError)
    refused_whole(net, "b", data[: len(data) // 2], BundleUnreadableError)
    refused_whole(net, "b", b"", BundleUnreadableError)
    assert net.import_("b", data).new == 3


def test_a_found_bundle_is_random_bytes_of_a_rounded_size(net: Network) -> None:
    sizes = set()
    for n in (0, 1, 5):
        for _ in range(n):
            net.add_visit("a", Card.generate(os.urandom), VAX1, first=True)
        data = net.export("a")
        sizes.add(len(data))
        for needle in [net.site_id("a").encode(), bytes.fromhex(net.site_id("a")), b"haven", b"North"]:
            assert needle not in data
    assert sizes == {64 * 1024 + 32 + 16}  # a few rows, no rows: the same size


def test_a_bundle_from_another_network_does_not_open(net: Network, tmp_path: Path) -> None:
    other = make_network(tmp_path / "other", members=("x",))
    other.add_visit("x", Card.generate(os.urandom), VAX1, first=True)
    refused_whole(net, "a", other.export("x"), BundleUnreadableError)


def test_a_bundle_for_one_site_opens_there_only(net: Network) -> None:
    net.add_visit("a", Card.generate(os.urandom), VAX1, first=True)
    data = net.export("a", for_site=net.site_id("b"))
    refused_whole(net, "root", data, BundleUnreadableError)
    assert net.import_("b", data).new == 1


def test_a_removed_members_bundles_are_refused_even_replayed(net: Network) -> None:
    net.add_visit("a", Card.generate(os.urandom), VAX1, first=True)
    before_removal = net.export("a")
    with net.sync("root") as (_, sync):
        sync.remove(net.site_id("a"))
    net.send_roster("b")
    error = refused_whole(net, "b", before_removal, NotAMemberError)
    assert error.details["removed"] is True  # type: ignore[attr-defined]
    # The new network key never reached the removed site: what the others send no longer opens there.
    net.add_visit("b", Card.generate(os.urandom), TEST, first=True)
    refused_whole(net, "a", net.export("b"), BundleUnreadableError)


def test_a_bundle_signed_by_a_non_member_or_altered_inside_is_refused(net: Network) -> None:
    from haven.core.records import SealedRecord
    from haven.sync import bundle
    from haven.sync.roster import SiteKeys

    with net.sync("a") as (_, sync):
        roster = sync.roster()
        own = sync.site_keys()
    assert roster is not None and own is not None
    stranger = SiteKeys.generate(os.urandom)
    refused_whole(net, "b", bundle.seal_bundle(stranger, roster.network_key()), NotAMemberError)
    junk = SealedRecord(os.urandom(16), os.urandom(16), b"\x01" + os.urandom(40))
    refused_whole(net, "b", bundle.seal_bundle(own, roster.network_key(), [junk]), BundleInvalidError)

    # A member's bundle whose rows were changed after signing (by someone holding the network key).
    net.add_visit("a", Card.generate(os.urandom), VAX1, first=True)
    with net.sync("a") as (session, sync):
        keys = [k for _, k in sorted(sync.network_keys().items())]
        rows = list(session.store.records())
    signed = bundle.open_bundle(net.export("a"), keys)
    payload, signature = signed._payload, signed._signature
    altered = payload.replace(rows[0].sealed[-16:], bytes(16))
    assert altered != payload
    from haven.certs import cbor

    inner = cbor.dumps([altered, signature]) + b"\x80"
    inner += bytes(bundle.MIN_PADDED - len(inner))
    forged = bundle.SUITE.encrypt(inner, roster.network_key(), bundle.INFO)
    refused_whole(net, "b", forged, BundleInvalidError)


def test_the_roster_travels_in_bundles_and_never_goes_back(net: Network, tmp_path: Path) -> None:
    with net.sync("a") as (_, sync):
        old = sync.export_roster()
    net.join("c", tmp_path / "c")  # a and b still hold the roster without c
    net.add_visit("c", Card.generate(os.urandom), VAX1, first=True)
    result = net.import_("a", net.export("c"))
    assert result.new == 1 and result.roster_version is not None
    with net.sync("a") as (_, sync), pytest.raises(RosterError):
        sync.import_roster(old)


def test_a_roster_signed_by_another_root_is_refused(net: Network, tmp_path: Path) -> None:
    other = make_network(tmp_path / "other", members=("x",))
    with other.sync("x") as (_, sync):
        foreign = sync.export_roster()
    with net.sync("a") as (_, sync), pytest.raises(RosterError):
        sync.import_roster(foreign)


def test_a_state_file_lets_a_peer_send_only_the_buckets_that_differ(net: Network) -> None:
    cards = [Card.generate(os.urandom) for _ in range(40)]
    for card in cards:
        net.add_visit("a", card, VAX1, first=True)
    net.import_("b", net.export("a"))
    net.add_visit("a", cards[0], VAX2)
    with net.sync("b") as (_, sync):
        state = sync.state()
    with net.sync("a") as (_, sync):
        out = sync.export(have=state)
    assert out.rows < 5  # the new row and the few that share its bucket
    assert net.import_("b", out.data).new == 1
    assert net.rows("a") == net.rows("b")


def test_the_same_index_written_at_two_sites_offline_keeps_both_visits(net: Network) -> None:
    from haven.core.history import entry_id

    card = Card.generate(os.urandom)
    assert net.add_visit("a", card, VAX1, first=True) == 0
    assert net.add_visit("b", card, TEST, first=True) == 0  # b never heard of this card
    net.import_("b", net.export("a"))
    net.import_("a", net.export("b"))
    for name in ("a", "b"):
        history = net.history(name, card)
        assert [v.index for v in history.visits] == [0, 0]
        ids = {entry_id(v, 0) for v in history.visits}
        assert len(ids) == 2  # a certificate or a correction names exactly one of them
    assert net.add_visit("b", card, VAX2) == 1  # the next visit continues after both
    net.import_("a", net.export("b"))
    assert [v.index for v in net.history("a", card).visits] == [0, 0, 1]


def test_what_a_seized_site_links_when_two_sites_wrote_one_index(net: Network) -> None:
    """The one thing two unsynced first visits give away: their two rows share a locator. Nothing else
    in the database (ids, sealed bytes, bucket digests) is shared by two visits of one holder (P2)."""
    card, other = Card.generate(os.urandom), Card.generate(os.urandom)
    net.add_visit("a", card, VAX1, first=True)
    net.add_visit("b", card, TEST, first=True)
    net.add_visit("a", other, VAX1, first=True)
    net.import_("b", net.export("a"))
    net.import_("a", net.export("b"))
    with net.sync("a") as (session, _):
        tables = {t.name: t for t in session.store.tables()}
    records = tables["records"].rows
    locators = [r[0] for r in records]
    shared = {loc for loc in locators if locators.count(loc) > 1}
    assert len(records) == 3 and len(shared) == 1  # the holder's two index-0 visits, linked
    pair = [r for r in records if r[0] in shared]
    for column in (1, 2):
        assert pair[0][column] != pair[1][column]
    digests = [row[1] for row in tables["sync_buckets"].rows]
    assert len(set(digests)) == len(digests)


def test_only_a_coordinators_passphrase_reaches_the_sync_keys_and_the_roster(net: Network) -> None:
    from haven.errors import PermissionDeniedError
    from haven.site.roles import Role
    from haven.sync.service import Sync
    from tests.helpers_site import ADMIN, CLINICIAN

    site = net.sites["a"]
    with site.unlock(ADMIN) as session:
        session.add_staff("Min", Role.CLINICIAN | Role.REGISTRAR, CLINICIAN)
        sync = Sync(session)
        keys, roster = sync.identity()
        secrets = [keys.member.sign_public, keys.signing.private_bytes_raw(), keys.encryption.private_bytes_raw()]
        secrets += [m.sign_public for m in roster.members] + [
            k.private_bytes_raw() for k in sync.network_keys().values()
        ]
    with site.unlock(CLINICIAN) as session:
        sync = Sync(session)
        for call in (sync.roster, sync.site_keys, sync.network_keys, sync.request, lambda: sync.export()):
            with pytest.raises(PermissionDeniedError):
                call()
        cells = b"".join(
            bytes(v) if isinstance(v, bytes) else str(v).encode()
            for t in session.store.tables()
            for r in t.rows
            for v in r
        )
    assert not [s for s in secrets if s in cells]  # wrapped under the admin key: not in any table in the clear


def test_rows_from_a_transport_are_checked_then_merged_with_their_audit_entry(net: Network) -> None:
    from haven.core.records import SealedRecord
    from haven.sync.bundle import pack_rows

    net.add_visit("a", Card.generate(os.urandom), VAX1, first=True)
    with net.sync("a") as (session, _):
        rows = list(session.store.records())
    junk = SealedRecord(os.urandom(16), os.urandom(16), b"\x01" + os.urandom(40))
    before = snapshot(net.sites["b"])
    with net.sync("b") as (_, sync), pytest.raises(BundleInvalidError):
        sync.accept_rows(pack_rows([*rows, junk]))
    assert snapshot(net.sites["b"]) == before
    with net.sync("b") as (session, sync):
        assert sync.accept_rows(pack_rows(rows)).new == 1
        entries = [entry.action for entry, _ in session.audit.rows()]
    assert entries[-1] == "sync.pull"


def test_a_correction_made_at_one_site_shows_at_another_after_a_bundle(net: Network) -> None:
    """A correction travels as any row: sealed, unlinked, and read the same at every site."""
    from haven.core.history import entry_id
    from tests.helpers_site import ADMIN

    card = Card.generate(os.urandom)
    net.add_visit("a", card, VAX1 + TEST, first=True)
    net.import_("b", net.export("a"))
    first = entry_id(net.history("b", card).visits[0], 0)
    with net.sites["b"].unlock(ADMIN) as session:
        session.clinic().correct(card, first, "amend", {**VAX1[0], "lot": "B-7"}, "lot misread")
        session.clinic().correct(card, entry_id(session.clinic().history(card).visits[0], 1), "void", None, "no test")
        # b counted none of these entries: the void's minus one is not shown as a count below zero.
        counts = session.counts()
        assert counts.totals == {} and list(counts.below_zero.values()) == [-1]
    assert net.import_("a", net.export("b")).new == 2
    for name in ("a", "b"):
        history = net.history(name, card)
        assert [e.type for e in history.visits[0].visit.entries] == ["vaccination"]
        shown = history.to_doc()["visits"][0]["entries"]
        assert shown[0]["lot"] == "B-7" and "voided" in shown[1] and len(history.visits) == 1
    assert net.rows("a") == net.rows("b")
