"""The Haven certificate format: Base45, claims, batches, sizes."""

from __future__ import annotations

import datetime as dt

import pytest

from haven import qr
from haven.certs import base45, cbor, cose
from haven.certs.batch import issue_batch, week_start
from haven.certs.claims import CLAIM_FACTS, Claims, Facts, TestFact, VaccinationFact, decode_claims, encode_claims
from haven.certs.trust import timestamp
from haven.errors import InputError, MalformedCertificate, TrustError
from tests.certkit import network
from tests.helpers_clock import NOW


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"), (b"", "")],
)
def test_base45_matches_rfc_9285_examples(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@pytest.mark.parametrize("bad", ["GGW", "A", "ab", "QED8WEX0!", ":::", "AAAA"])
def test_base45_refuses_what_no_encoder_writes(bad: str) -> None:
    with pytest.raises(MalformedCertificate):
        base45.decode(bad)


def test_base45_round_trips_every_byte_pair() -> None:
    data = bytes(range(256)) + bytes(reversed(range(256))) + b"\xff"
    assert base45.decode(base45.encode(data)) == data
    assert len(base45.encode(data)) == base45.encoded_length(len(data))


def test_strict_cbor_refuses_trailing_bytes_duplicates_and_non_canonical_forms() -> None:
    assert cbor.loads(bytes.fromhex("a10102"), canonical=True) == {1: 2}
    for hexed in ("a1010200", "a2010201 03".replace(" ", ""), "a1011802", "bf0102ff"):
        with pytest.raises(MalformedCertificate):
            cbor.loads(bytes.fromhex(hexed), canonical=True)


def test_claims_round_trip_and_use_the_private_claim_key() -> None:
    facts = Facts(
        (VaccinationFact(("measles", "mumps", "rubella"), "live attenuated", "mmr", 1, 2, dt.date(2026, 3, 2)),),
        (TestFact("covid-19", "pcr", "positive", dt.date(2026, 11, 27)),),
    )
    claims = Claims(exp=1_800_000_000, iat=1_795_000_000, cti=bytes(range(12)), facts=facts)
    payload = encode_claims(claims)
    assert decode_claims(payload) == claims
    assert CLAIM_FACTS in cbor.loads(payload, canonical=True)


def test_unknown_codes_from_a_newer_catalogue_still_decode() -> None:
    payload = cbor.dumps({4: 2, 6: 1, 7: bytes(12), CLAIM_FACTS: {1: [[1, 99, 200, 1, 1, 20000]]}})
    fact = decode_claims(payload).facts.vaccinations[0]
    assert (fact.vaccine_type, fact.product) == ("#99", "#200")


def test_three_doses_fit_a_version_10_qr_code_at_q() -> None:
    site = network()
    card = site.holder()
    [stub] = site.certs.issue(card, count=1)
    assert len(stub) <= 221
    assert qr.version(stub, "q") <= 10


def test_a_batch_has_equal_lengths_distinct_ids_and_week_rounded_issue_time() -> None:
    site = network()
    card = site.holder()
    stubs = site.certs.issue(card, count=12)
    assert len({len(s) for s in stubs}) == 1
    claims = [decode_claims(cose.decode_sign1(base45.decode(s), canonical=True).payload) for s in stubs]
    assert len({c.cti for c in claims}) == 12
    assert {c.iat for c in claims} == {week_start(timestamp(NOW))}
    assert dt.datetime.fromtimestamp(claims[0].iat, dt.UTC).weekday() == 0
    assert {c.exp - c.iat for c in claims} == {365 * 86400}


def test_stubs_never_start_with_a_marker_and_use_only_qr_alphanumerics() -> None:
    site = network()
    stubs = site.certs.issue(site.holder(), count=3)
    for s in stubs:
        assert not s.startswith(("HC1:", "shc:/", "HAVEN"))
        assert set(s) <= set(base45.ALPHABET)


def test_a_test_shortens_the_validity_to_72_hours_from_its_day() -> None:
    site = network()
    card = site.holder([{"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-28"}])
    [stub] = site.certs.issue(card, what="test")
    claims = decode_claims(cose.decode_sign1(base45.decode(stub), canonical=True).payload)
    assert claims.exp == timestamp(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert [t.result for t in claims.facts.tests] == ["negative"]


def test_issue_refuses_old_tests_empty_facts_and_bad_counts() -> None:
    site = network()
    card = site.holder([{"type": "test", "test": "pcr", "result": "negative", "date": "2026-11-01"}])
    with pytest.raises(InputError, match="too old"):
        site.certs.issue(card, what="test")
    with pytest.raises(InputError, match="no vaccinations"):
        site.certs.issue(card, what="vaccination")
    with pytest.raises(InputError, match="batch"):
        site.certs.issue(site.holder(secret=2), count=0)


def test_what_selects_vaccinations_the_latest_test_or_both() -> None:
    site = network()
    entries = [
        *site_entries(),
        {"type": "test", "test": "pcr", "result": "positive", "date": "2026-11-20"},
        {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-28"},
    ]
    card = site.holder(entries)
    both = site.certs.facts_for(card, None, "all")
    assert len(both.vaccinations) == 3
    assert [(t.test, t.result) for t in both.tests] == [("antigen", "negative")]
    assert site.certs.facts_for(card, None, "test").vaccinations == ()


def site_entries() -> list[dict[str, object]]:
    from tests.certkit import THREE_DOSES

    return list(THREE_DOSES)


def test_a_key_outside_its_epoch_does_not_sign() -> None:
    site = network()
    key = site.certs.current_key()
    with pytest.raises(TrustError):
        issue_batch(
            site.certs.facts_for(site.holder(), None, "vaccination"),
            key,
            key.not_after + 1,
            1,
            site.certs.random_bytes,
        )


def test_the_fast_json_line_is_the_documented_result() -> None:
    import json

    from haven.certs.verify import verify

    site = network()
    stub = site.certs.issue(site.holder(), count=1)[0]
    result = verify(stub, site.certs.trust(), NOW)
    assert json.loads(result.to_json()) == result.to_doc()


def test_hand_written_cbor_matches_the_encoder() -> None:
    for n in (0, 23, 24, 255, 256, 70000):
        body = bytes(n)
        assert cose.sig_structure(body, body[:7]) == cbor.dumps(["Signature1", body, b"", body[:7]])
