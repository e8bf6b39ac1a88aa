"""P5: two stubs of one batch share no decoded value beyond what two holders with the same facts share."""

from __future__ import annotations

from typing import Any

from haven.certs import base45, cbor, cose
from tests.certkit import network


def leaves(value: Any, path: str = "") -> set[tuple[str, Any]]:
    """Every (path, value) of a decoded CBOR item, containers included as their encoding."""
    out: set[tuple[str, Any]] = set()
    if isinstance(value, dict):
        out.add((path, cbor.dumps(value)))
        for k, v in value.items():
            out |= leaves(v, f"{path}/{k}")
    elif isinstance(value, (list, tuple)):
        out.add((path, cbor.dumps(list(value))))
        for i, v in enumerate(value):
            out |= leaves(v, f"{path}[{i}]")
    else:
        out.add((path, value))
    return out


def layers(stub: str) -> set[tuple[str, Any]]:
    """Every value at every layer: the text, Base45's bytes, COSE's parts, the headers' and claims' CBOR."""
    raw = base45.decode(stub)
    signed = cose.decode_sign1(raw, canonical=True)
    values = {("text", stub), ("cose", raw)}  # no zlib layer: Haven does not compress (it would not save bytes)
    values |= leaves(cbor.loads(raw, canonical=True), "cose")
    values |= leaves(signed.protected, "protected")
    values |= leaves(cbor.loads(signed.payload, canonical=True), "claims")
    return values


def grams(stub: str, n: int = 4) -> set[bytes]:
    raw = base45.decode(stub)
    return {raw[i : i + n] for i in range(len(raw) - n + 1)}


def test_one_batch_shares_no_more_than_two_holders_with_the_same_facts() -> None:
    site = network(seed=11)
    alice, bob = site.holder(secret=1), site.holder(secret=2)
    a1, a2 = site.certs.issue(alice, count=2)
    b1 = site.certs.issue(bob, count=1)[0]
    same_holder = layers(a1) & layers(a2)
    two_holders = layers(a1) & layers(b1)
    assert same_holder <= two_holders
    assert same_holder == two_holders  # and exactly the same: the facts, the key, the week
    assert grams(a1) & grams(a2) <= grams(a1) & grams(b1)
    assert len(a1) == len(a2) == len(b1)


def test_two_batches_of_one_holder_in_one_week_are_as_unlinkable() -> None:
    site = network(seed=12)
    alice, bob = site.holder(secret=1), site.holder(secret=2)
    first = site.certs.issue(alice, count=1)[0]
    site.clock.now = site.clock.now.replace(hour=18)
    second = site.certs.issue(alice, count=1)[0]
    other = site.certs.issue(bob, count=1)[0]
    assert layers(first) & layers(second) <= layers(first) & layers(other)


def test_what_is_shared_is_only_structure_facts_key_and_week() -> None:
    site = network(seed=13)
    a1, a2 = site.certs.issue(site.holder(), count=2)
    shared_paths = {path for path, _ in layers(a1) & layers(a2)}
    assert "claims/7" not in shared_paths  # the one-time id
    assert "cose[3]" not in shared_paths  # the signature
    assert {"claims/4", "claims/6", "protected/4"} <= shared_paths  # expiry, week, epoch key: shared by design
