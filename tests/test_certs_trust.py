"""The trust list and epoch keys: signed, pinned, no rollback, epochs of at most 31 days."""

from __future__ import annotations

import datetime as dt

import pytest

from haven.certs.signing_keys import public_bytes
from haven.certs.trust import TrustList, make_signing_key, parse_trust_list
from haven.errors import InputError, TrustError
from tests.certkit import network
from tests.helpers_clock import NOW, seeded


def test_the_signed_list_round_trips_and_any_change_is_refused() -> None:
    site = network()
    data = site.certs.export_list()
    listed = parse_trust_list(data, site.store.get_setting("certs/root-public"))
    assert listed.network == "standalone" and len(listed.keys) == 3  # twelve weeks of keys, made ahead
    for i in range(0, len(data), 3):
        changed = bytearray(data)
        changed[i] ^= 0x10
        with pytest.raises(TrustError):
            parse_trust_list(bytes(changed), listed.root_public)


def test_a_list_signed_by_another_root_is_refused() -> None:
    mine, theirs = network(seed=1), network(seed=2)
    with pytest.raises(TrustError, match="another network"):
        parse_trust_list(theirs.certs.export_list(), mine.certs.trust_list().root_public)  # type: ignore[union-attr]


def test_signing_with_a_root_that_is_not_the_lists_is_refused() -> None:
    site = network()
    current = site.certs.trust_list()
    assert current is not None
    stranger = make_signing_key(seeded(9), "x", 0).private
    with pytest.raises(TrustError):
        current.sign(stranger)


def test_epochs_last_at_most_31_days_and_labels_are_required() -> None:
    with pytest.raises(TrustError):
        make_signing_key(seeded(1), "north", 0, days=32)
    with pytest.raises(TrustError):
        make_signing_key(seeded(1), "  ", 0)
    site = network()
    root = site.certs.root_key()
    assert root is not None
    key = make_signing_key(seeded(3), "north", 0)
    too_long = type(key.trusted())(key.public, "north", 0, 40 * 86400)
    forged_list = TrustList("n", 1, 0, public_bytes(root), keys=(too_long,))
    with pytest.raises(TrustError, match="31 days"):
        parse_trust_list(forged_list.sign(root), public_bytes(root))


def test_rollback_is_refused_and_the_same_list_again_is_harmless() -> None:
    site = network()
    old = site.certs.export_list()
    site.certs.new_key("south")
    new = site.certs.export_list()
    assert site.certs.update_list(new).sequence == 2
    with pytest.raises(TrustError, match="older"):
        site.certs.update_list(old)


def test_the_next_epoch_signs_at_the_root_and_nothing_signs_elsewhere_once_keys_run_out() -> None:
    site = network()
    first = site.certs.current_key()
    site.clock.now = NOW + dt.timedelta(days=40)
    second = site.certs.current_key()
    assert second.kid != first.kid and second.label == first.label
    assert second.not_before == first.not_after  # the next scheduled epoch, made ahead
    site.store.put_setting("certs/root-key", b"")
    site.clock.now = NOW + dt.timedelta(days=200)
    with pytest.raises(TrustError, match="no signing key"):
        site.certs.current_key()


def test_standalone_twice_is_refused_without_replace() -> None:
    site = network()
    before = site.certs.export_list()
    with pytest.raises(TrustError, match="replace"):
        site.certs.standalone()
    assert site.certs.export_list() == before


def test_key_export_needs_a_long_passphrase() -> None:
    site = network()
    with pytest.raises(InputError):
        site.certs.export_key(site.certs.current_key().kid, "short")
