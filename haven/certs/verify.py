"""Verify any certificate Haven reads: its own, EU DCC (``HC1:``) and SMART Health Cards.

Verification raises a :class:`~haven.errors.CertificateError` subclass, one per
reason, and returns a :class:`Verified` only when the certificate is valid at
``now``. :func:`result` turns either outcome into the documented JSON result::

    {"valid": bool, "signature_valid": bool, "reason": null | "malformed" | ...,
     "format": "haven" | "eu-dcc" | "shc" | null, "facts": {...}}
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from haven.certs import base45, cbor, cose
from haven.certs.batch import week_start
from haven.certs.claims import Facts, decode_claims, facts_doc
from haven.certs.trust import TrustList, iso, timestamp
from haven.errors import (
    CertificateError,
    ExpiredCertificate,
    MalformedCertificate,
    NotYetValidCertificate,
    RevokedCertificate,
    UnknownIssuer,
)

FORMATS = ("haven", "eu-dcc", "shc")
_BASE45 = frozenset(base45.ALPHABET)


@dataclass(frozen=True)
class Verified:
    """A certificate that verified: its format and what it states."""

    format: str
    facts: dict[str, Any]
    warnings: tuple[str, ...] = ()
    facts_json: str | None = field(default=None, compare=False)  # precomputed compact JSON of ``facts``

    def to_json(self) -> str:
        """``to_doc()`` as compact JSON (one line), reusing the facts' JSON where it is known."""
        if self.facts_json is None or self.warnings:
            return _compact(self.to_doc())
        return (
            f'{{"valid":true,"signature_valid":true,"reason":null,"format":"{self.format}","facts":{self.facts_json}}}'
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "valid": True,
            "signature_valid": True,
            "reason": None,
            "format": self.format,
            "facts": self.facts,
        }
        if self.warnings:
            doc["warnings"] = list(self.warnings)
        return doc


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@functools.lru_cache(maxsize=4096)
def _facts_json(facts: Facts) -> str:
    return _compact(facts_doc(facts))[1:-1]


@functools.lru_cache(maxsize=1024)
def _tail_json(iat: int, exp: int, kid: bytes, label: str, network: str) -> str:
    # The end of a Haven result's facts: the same for every stub of a week and key.
    issuer = {"kid": kid.hex(), "label": label, "network": network}
    return _compact({"issued_at": _iso(iat), "expires_at": _iso(exp), "issuer": issuer})[1:]


@functools.lru_cache(maxsize=1024)
def _iso(seconds: int) -> str:
    return iso(seconds)


def refusal_doc(exc: CertificateError) -> dict[str, Any]:
    """The JSON result for a certificate that did not verify."""
    return {
        "valid": False,
        "signature_valid": exc.signature_valid,
        "reason": exc.code,
        "format": exc.format,
        "facts": exc.facts or {},
        "message": exc.message,
    }


@dataclass
class Trust:
    """Everything a verifier trusts, all offline: Haven's trust list and external issuers."""

    haven: TrustList | None = None
    eudcc: list[Any] = field(default_factory=list)  # eudcc.Signer
    shc: dict[str, Any] = field(default_factory=dict)  # iss -> shc.Issuer


def detect_format(text: str) -> str | None:
    """Which format ``text`` claims to be, from its first characters (None: none Haven reads)."""
    if text.startswith("HC1:"):
        return "eu-dcc"
    if text.startswith(("shc:/", "{")) or (text.startswith("eyJ") and text.count(".") == 2):
        return "shc"
    if text and text[0] in _BASE45:
        return "haven"  # Base45 decoding checks the rest
    return None


def verify(text: str, trust: Trust, now: dt.datetime) -> Verified:
    """Verify ``text`` in whichever format it is, offline, as of ``now``."""
    fmt = detect_format(text)
    try:
        if fmt == "haven":
            return verify_haven(text, trust.haven, now)
        if fmt == "eu-dcc":
            from haven.certs import eudcc

            return eudcc.verify(text, trust.eudcc, now)
        if fmt == "shc":
            from haven.certs import shc

            return shc.verify(text, trust.shc, now)
    except CertificateError as exc:
        if exc.format is None:
            exc.format = fmt
        raise
    raise MalformedCertificate(
        "This is not a certificate in any format Haven reads (Haven, EU DCC, SMART Health Card)."
    )


def check_times(fmt: str, now: int, not_before: float | None, expires: float | None, facts: dict[str, Any]) -> None:
    """Raise if ``now`` is outside [not_before, expires]."""
    if not_before is not None and now < not_before:
        raise NotYetValidCertificate(
            f"The certificate is valid only from {iso(int(not_before))}.",
            format=fmt,
            signature_valid=True,
            facts=facts,
        )
    if expires is not None and now > expires:
        raise ExpiredCertificate(
            f"The certificate expired on {iso(int(expires))}.", format=fmt, signature_valid=True, facts=facts
        )


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


def verify_haven(text: str, trust: TrustList | None, now: dt.datetime) -> Verified:
    """Verify a Haven certificate against the cached trust list.

    Order matters for the reason given: structure (malformed), then the key
    (unknown-issuer, revoked), then the signature (forged), and only then the
    claims, so any change to signed bytes reads as forged, never as malformed.
    """
    fmt = "haven"
    protected_bytes, payload, signature = cose.split_canonical_sign1(base45.decode(text))
    alg, kid = _protected_header(protected_bytes)
    if trust is None:
        raise UnknownIssuer("This site has no trust list: import your network's ('haven trust join').", format=fmt)
    if kid in trust.revoked_kids:
        raise RevokedCertificate(f"The key that signed this certificate ({kid.hex()}) is revoked.", format=fmt)
    key = trust.key(kid)
    if key is None:
        raise UnknownIssuer(f"No key {kid.hex()} in trust list {trust.sequence} of {trust.network}.", format=fmt)
    cose.verify_signature(alg, key.public_key(), cose.sig_structure(protected_bytes, payload), signature, fmt)
    try:
        claims = decode_claims(payload)
    except CertificateError as exc:
        exc.signature_valid = True
        raise
    issuer = {"kid": kid.hex(), "label": key.label, "network": trust.network}
    facts = {
        **facts_doc(claims.facts),
        "issued_at": _iso(claims.iat),
        "expires_at": _iso(claims.exp),
        "issuer": issuer,
    }
    if claims.cti in trust.revoked_ctis:
        raise RevokedCertificate("This certificate is revoked.", format=fmt, signature_valid=True, facts=facts)
    if not week_start(key.not_before) <= claims.iat <= key.not_after:
        raise UnknownIssuer(
            f"Key {kid.hex()} was not a signing key at the certificate's issue time.",
            format=fmt,
            signature_valid=True,
            facts=facts,
        )
    check_times(fmt, timestamp(now), claims.iat, claims.exp, facts)
    tail = _tail_json(claims.iat, claims.exp, kid, key.label, trust.network)
    return Verified(fmt, facts, facts_json=f"{{{_facts_json(claims.facts)},{tail}")
