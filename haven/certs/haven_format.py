"""Haven's own certificates: COSE_Sign1 over Haven's claims, checked against the network's trust list.

Verification runs in steps, and their order decides the reason given:
structure (malformed), then the key (unknown-issuer, revoked), then the
signature (forged), and only then the claims, so any change to signed bytes
reads as forged, never as malformed. Each step is a function here so that
:mod:`haven.certs.bulk` can run a batch step by step; :func:`verify_haven` runs
one certificate through all of them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from haven.certs import base45, cbor, cose
from haven.certs.batch import week_start
from haven.certs.claims import Facts, TestFact, VaccinationFact, facts_doc, facts_of, read_claims
from haven.certs.facts import compact
from haven.certs.result import Verified, check_times
from haven.certs.trust import TrustedKey, TrustList, iso, timestamp
from haven.errors import CertificateError, ForgedCertificate, MalformedCertificate, RevokedCertificate, UnknownIssuer

FORMAT = "haven"


@dataclass(frozen=True)
class HavenIssuer:
    """Who signed a Haven certificate, as the trust list names it: a key, its programme or region, the network."""

    kid: bytes
    label: str
    network: str

    def to_doc(self) -> dict[str, Any]:
        return {"kid": self.kid.hex(), "label": self.label, "network": self.network}


@dataclass(frozen=True)
class HavenFacts:
    """What a Haven certificate states (its claims' facts), when it was issued and expires, and who signed it."""

    stated: Facts
    issued_at: int
    expires_at: int
    issuer: HavenIssuer
    encoded: bytes = field(compare=False, repr=False)  # the facts claim as signed: its JSON is cached by it

    @property
    def vaccinations(self) -> tuple[VaccinationFact, ...]:
        return self.stated.vaccinations

    @property
    def tests(self) -> tuple[TestFact, ...]:
        return self.stated.tests

    def to_doc(self) -> dict[str, Any]:
        return {
            **facts_doc(self.stated),
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "issuer": self.issuer.to_doc(),
        }

    def to_json(self) -> str:
        issuer = self.issuer
        return _facts_json(self.encoded, self.issued_at, self.expires_at, issuer.kid, issuer.label, issuer.network)


class Signed(NamedTuple):
    """A Haven certificate past its structure and key checks (steps 1 and 2), with what step 3 needs."""

    trust: TrustList
    key: TrustedKey
    kid: bytes
    payload: bytes
    der: bytes | None  # the DER signature still to check (None: checked already)
    message: bytes  # what the signature covers


class Claimed(NamedTuple):
    """A Haven certificate whose every check passed: its facts, issue time and expiry."""

    facts: Facts
    encoded: bytes  # the facts claim as signed
    iat: int
    exp: int


def verify_haven(text: str, trust: TrustList | None, now: dt.datetime) -> Verified:
    """Verify a Haven certificate against the cached trust list."""
    signed = read_signed(text, trust)
    check_signature(signed)
    claimed = check_claims(signed, timestamp(now))
    return Verified(FORMAT, _facts(signed, claimed))


def facts_json(signed: Signed, claimed: Claimed) -> str:
    """``HavenFacts.to_json()`` of a checked certificate, without building its facts."""
    return _facts_json(claimed.encoded, claimed.iat, claimed.exp, signed.kid, signed.key.label, signed.trust.network)


def _facts(signed: Signed, claimed: Claimed) -> HavenFacts:
    issuer = _issuer(signed.kid, signed.key.label, signed.trust.network)
    return HavenFacts(claimed.facts, claimed.iat, claimed.exp, issuer, claimed.encoded)


@functools.lru_cache(maxsize=256)
def _issuer(kid: bytes, label: str, network: str) -> HavenIssuer:
    return HavenIssuer(kid, label, network)  # a few keys per network: made once each


@functools.lru_cache(maxsize=256)
def _protected_header(data: bytes) -> tuple[int, bytes]:
    """``(alg, kid)`` from a Haven protected header (a few distinct headers per network: cached)."""
    header = cbor.loads(data, "certificate's protected header", canonical=True)
    if not isinstance(header, Mapping) or set(header) - {cose.HEADER_ALG, cose.HEADER_KID}:
        raise MalformedCertificate("The certificate has headers Haven does not write.")
    alg, kid = header.get(cose.HEADER_ALG), header.get(cose.HEADER_KID)
    if isinstance(alg, bool) or not isinstance(alg, int):
        raise MalformedCertificate("The certificate names no signature algorithm.")
    if not isinstance(kid, bytes):
        raise MalformedCertificate("The certificate names no signing key.")
    return alg, kid


def read_signed(text: str, trust: TrustList | None, raw: bytes | None = None) -> Signed:
    """Steps 1 and 2: the structure, then the key; ``raw`` is the text's Base45 decoding where known already."""
    protected_bytes, payload, signature, message = cose.read_canonical_sign1(
        base45.decode(text) if raw is None else raw
    )
    alg, kid = _protected_header(protected_bytes)
    if trust is None:
        raise UnknownIssuer("This site has no trust list: import your network's ('haven trust join').", format=FORMAT)
    if kid in trust.revoked_kids:
        raise RevokedCertificate(f"The key that signed this certificate ({kid.hex()}) is revoked.", format=FORMAT)
    key = trust.key(kid)
    if key is None:
        raise UnknownIssuer(f"No key {kid.hex()} in trust list {trust.sequence} of {trust.network}.", format=FORMAT)
    if alg == cose.ES256 and len(signature) == cose.P256_SIGNATURE_BYTES:
        if not cose.is_low_s(signature):  # (r, n - s) of a valid signature verifies too: a second copy of a stub
            raise ForgedCertificate(
                "The signature has a high s, which Haven never issues: it was altered.", format=FORMAT
            )
        return Signed(trust, key, kid, payload, cose.p256_der(signature), message)  # trust-list keys are P-256
    cose.verify_signature(alg, key.public_key(), message, signature, FORMAT)  # refuses, saying why
    return Signed(trust, key, kid, payload, None, message)


def check_signature(signed: Signed) -> None:
    """Step 3: the signature (``forged`` if it does not verify)."""
    if signed.der is not None:
        cose.verify_p256_der(signed.key.public_key_object, signed.message, signed.der, FORMAT)


def check_claims(signed: Signed, now: int) -> Claimed:
    """Steps 4 to 7, once the signature verified: the claims, revocation, the key's epoch, the times."""
    try:
        exp, iat, cti, encoded = read_claims(signed.payload)
        facts = facts_of(encoded)
    except CertificateError as exc:
        exc.signature_valid = True
        raise
    claimed = Claimed(facts, encoded, iat, exp)
    trust, key = signed.trust, signed.key
    if cti in trust.revoked_ctis or not week_start(key.not_before) <= iat <= key.not_after or not iat <= now <= exp:
        _refuse_checked(signed, cti, _facts(signed, claimed), now)
    return claimed


def _refuse_checked(signed: Signed, cti: bytes, facts: HavenFacts, now: int) -> None:
    """Raise the refusal of a certificate whose signature verified, with what it states."""
    key = signed.key
    if cti in signed.trust.revoked_ctis:
        raise RevokedCertificate(
            "This certificate is revoked.", format=FORMAT, signature_valid=True, facts=facts.to_doc()
        )
    if not week_start(key.not_before) <= facts.issued_at <= key.not_after:
        raise UnknownIssuer(
            f"Key {signed.kid.hex()} was not a signing key at the certificate's issue time.",
            format=FORMAT,
            signature_valid=True,
            facts=facts.to_doc(),
        )
    check_times(FORMAT, now, facts.issued_at, facts.expires_at, facts)


# Rendering: pure functions of what was checked, cached because stubs of a batch (and holders with the same
# history) share their facts, and certificates of a week and key share the rest. The caches save rendering,
# never a check.


@functools.lru_cache(maxsize=4096)
def _facts_json(encoded: bytes, iat: int, exp: int, kid: bytes, label: str, network: str) -> str:
    return f"{{{_claim_json(encoded)},{_tail_json(iat, exp, kid, label, network)}"  # the tail closes the brace


@functools.lru_cache(maxsize=4096)
def _claim_json(encoded: bytes) -> str:
    """The facts claim (checked already) as compact JSON, inside its braces."""
    return compact(facts_doc(facts_of(encoded)))[1:-1]


@functools.lru_cache(maxsize=1024)
def _tail_json(iat: int, exp: int, kid: bytes, label: str, network: str) -> str:
    # The end of a Haven result's facts: the same for every stub of a week and key.
    issuer = _issuer(kid, label, network).to_doc()
    return compact({"issued_at": _iso(iat), "expires_at": _iso(exp), "issuer": issuer})[1:]


@functools.lru_cache(maxsize=1024)
def _iso(seconds: int) -> str:
    return iso(seconds)
