"""P4: every change to a Haven certificate is refused with a typed reason; the decoder never crashes."""

from __future__ import annotations

import contextlib
import datetime as dt

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.certs import base45, cbor, cose
from haven.certs.result import Trust
from haven.certs.signing_keys import kid_of, new_private_key, public_bytes
from haven.certs.trust import SigningKey, TrustList
from haven.certs.verify import verify
from haven.errors import CertificateError, HavenError
from tests.certkit import network
from tests.helpers_clock import NOW

SITE = network()
STUB = SITE.certs.issue(SITE.holder(), count=1)[0]
TRUST = SITE.certs.trust()
SIGNED = cose.decode_sign1(base45.decode(STUB), canonical=True)


def reason(text: str, at: dt.datetime = NOW, trust: Trust = TRUST) -> str | None:
    try:
        verify(text, trust, at)
    except CertificateError as exc:
        return exc.code
    return None


def rebuild(protected: bytes, payload: bytes, signature: bytes, unprotected: dict[int, object] | None = None) -> str:
    return base45.encode(cbor.dumps([protected, unprotected or {}, payload, signature]))


def flips(data: bytes) -> list[bytes]:
    out = []
    for i in range(len(data)):
        for bit in range(8):
            changed = bytearray(data)
            changed[i] ^= 1 << bit
            out.append(bytes(changed))
    return out


def test_the_untouched_stub_verifies() -> None:
    assert reason(STUB) is None


def test_every_bit_flip_of_the_payload_reads_as_forged() -> None:
    results = {reason(rebuild(SIGNED.protected_bytes, p, SIGNED.signature)) for p in flips(SIGNED.payload)}
    assert results == {"forged"}


def test_every_bit_flip_of_the_signature_reads_as_forged() -> None:
    results = {reason(rebuild(SIGNED.protected_bytes, SIGNED.payload, s)) for s in flips(SIGNED.signature)}
    assert results == {"forged"}


# The order of P-256's group. ECDSA's (r, s) and (r, n - s) both verify: the "other form" of a signature.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def other_form(signature: bytes) -> bytes:
    return signature[:32] + (P256_N - int.from_bytes(signature[32:], "big")).to_bytes(32, "big")


def test_every_issued_signature_is_low_s() -> None:
    stubs = SITE.certs.issue(SITE.holder(), count=64)
    highs = [
        stub
        for stub in stubs
        if int.from_bytes(cose.decode_sign1(base45.decode(stub), canonical=True).signature[32:], "big") > P256_N // 2
    ]
    assert highs == []


def test_the_other_form_of_a_valid_signature_reads_as_forged_in_every_verifier() -> None:
    """Replacing s by n - s gives a second string that plain ECDSA accepts: Haven refuses it."""
    from haven.certs.bulk import BulkVerifier

    for stub in SITE.certs.issue(SITE.holder(), count=16):
        signed = cose.decode_sign1(base45.decode(stub), canonical=True)
        copy = rebuild(signed.protected_bytes, signed.payload, other_form(signed.signature))
        assert copy != stub
        assert (reason(stub), reason(copy)) == (None, "forged")
        [(line, code)] = BulkVerifier(TRUST, NOW).results([copy])
        assert '"reason":"forged"' in line and code != 0


def test_every_bit_flip_of_the_protected_header_is_refused_with_a_fitting_reason() -> None:
    kid_at = SIGNED.protected_bytes.index(kid_of(TRUST.haven.key(SIGNED.protected[4]).public))  # type: ignore[union-attr]
    for n, header in enumerate(flips(SIGNED.protected_bytes)):
        got = reason(rebuild(header, SIGNED.payload, SIGNED.signature))
        if n // 8 >= kid_at:
            assert got == "unknown-issuer", n  # another key id: no such key
        else:
            assert got in {"malformed", "forged"}, (n, got)  # broken header, or another algorithm


def test_every_bit_flip_anywhere_in_the_encoded_certificate_is_refused() -> None:
    raw = base45.decode(STUB)
    for changed in flips(raw):
        assert reason(base45.encode(changed)) is not None


def test_truncation_at_every_length_is_malformed() -> None:
    for n in range(len(STUB)):
        assert reason(STUB[:n]) == "malformed", n
    raw = base45.decode(STUB)
    for n in range(len(raw)):
        assert reason(base45.encode(raw[:n])) == "malformed", n


def test_alg_removed_is_malformed_and_alg_swapped_is_forged() -> None:
    kid = SIGNED.protected[4]
    no_alg = cbor.dumps({4: kid})
    assert reason(rebuild(no_alg, SIGNED.payload, SIGNED.signature)) == "malformed"
    for alg in (-8, -35, -37, 5, 0):  # EdDSA, ES384, PS256, HMAC 256/256, none
        swapped = cbor.dumps({1: alg, 4: kid})
        assert reason(rebuild(swapped, SIGNED.payload, SIGNED.signature)) == "forged", alg
    # alg moved to the unprotected header (where no signature covers it) is not Haven's format
    assert reason(rebuild(no_alg, SIGNED.payload, SIGNED.signature, {1: -7})) == "malformed"


def test_a_tagged_or_re_encoded_certificate_is_malformed() -> None:
    tagged = cbor2.dumps(cbor2.CBORTag(18, [SIGNED.protected_bytes, {}, SIGNED.payload, SIGNED.signature]))
    assert reason(base45.encode(tagged)) == "malformed"
    long_form = bytes([0x84, 0x58, len(SIGNED.protected_bytes)]) + base45.decode(STUB)[2:]
    assert reason(base45.encode(long_form)) == "malformed"


def test_a_certificate_signed_by_a_key_not_in_the_trust_list_is_from_an_unknown_issuer() -> None:
    other = network(seed=99)
    stranger = other.certs.issue(other.holder(), count=1)[0]
    assert reason(stranger) == "unknown-issuer"


def test_a_wrong_key_under_a_listed_kid_reads_as_forged() -> None:
    intruder = new_private_key(lambda n: b"\x07" * n)
    protected = SIGNED.protected_bytes
    signature = cose.sign_es256(intruder, cose.sig_structure(protected, SIGNED.payload))
    assert reason(rebuild(protected, SIGNED.payload, signature)) == "forged"


def test_revoked_key_and_revoked_certificate_are_revoked() -> None:
    site = network(seed=5)
    stub, other = site.certs.issue(site.holder(), count=2)
    signed = cose.decode_sign1(base45.decode(stub), canonical=True)
    from haven.certs.claims import decode_claims

    site.certs.revoke(cti=decode_claims(signed.payload).cti)
    assert reason(stub, trust=site.certs.trust()) == "revoked"
    assert reason(other, trust=site.certs.trust()) is None
    site.certs.revoke(kid=signed.protected[4])
    assert reason(other, trust=site.certs.trust()) == "revoked"


def test_expired_and_not_yet_valid() -> None:
    assert reason(STUB, NOW + dt.timedelta(days=400)) == "expired"
    assert reason(STUB, NOW - dt.timedelta(days=30)) == "not-yet-valid"
    assert reason(STUB, NOW + dt.timedelta(days=300)) is None


def test_a_key_used_outside_its_epoch_is_not_trusted_for_that_certificate() -> None:
    site = network(seed=6)
    key = site.certs.current_key()
    # a key listed for a later epoch that signs a certificate dated before it
    early = SigningKey(key.private, key.label, key.not_before + 40 * 86400, key.not_after + 40 * 86400)
    listed = TrustList("n", 1, 0, public_bytes(key.private), keys=(early.trusted(),))
    from haven.certs.batch import issue_batch

    facts = site.certs.facts_for(site.holder(), None, "vaccination")
    text = issue_batch(facts, key, int(NOW.timestamp()), 1, site.certs.random_bytes)[0]
    assert reason(text, trust=Trust(haven=listed)) == "unknown-issuer"


def test_without_a_trust_list_haven_certificates_have_an_unknown_issuer() -> None:
    assert reason(STUB, trust=Trust()) == "unknown-issuer"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=base45.ALPHABET, max_size=300))
def test_fuzz_base45_text_raises_only_certificate_errors(text: str) -> None:
    with contextlib.suppress(CertificateError):
        verify(text, TRUST, NOW)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_decoded_bytes_raise_only_certificate_errors(data: bytes) -> None:
    for text in (base45.encode(data), "HC1:" + base45.encode(data)):
        with contextlib.suppress(CertificateError):
            verify(text, TRUST, NOW)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_stubs_raise_only_certificate_errors(data: st.DataObject) -> None:
    raw = bytearray(base45.decode(STUB))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(CertificateError):
        verify(base45.encode(bytes(raw)), TRUST, NOW)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_any_text_raises_only_haven_errors(text: str) -> None:
    for candidate in (text, "shc:/" + text, "{" + text, "eyJ" + text):
        with contextlib.suppress(HavenError):
            verify(candidate, TRUST, NOW)


@pytest.mark.parametrize("cut", [1, 10, 100])
def test_fuzz_cbor_structures_inside_a_valid_layout_raise_only_certificate_errors(cut: int) -> None:
    weird: list[object] = [None, 1, -1, 2**64, "x", b"", [], {}, cbor2.CBORTag(1, "x"), 1.5, True]
    for value in weird:
        for layout in (
            [SIGNED.protected_bytes, value, SIGNED.payload, SIGNED.signature],
            [value, {}, SIGNED.payload, SIGNED.signature],
            [cbor2.dumps({1: value, 4: SIGNED.protected[4]}), {}, SIGNED.payload, SIGNED.signature],
            value,
        ):
            with contextlib.suppress(CertificateError):
                verify(base45.encode(cbor2.dumps(layout)[: 1000 // cut]), TRUST, NOW)
