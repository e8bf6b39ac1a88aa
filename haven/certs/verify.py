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
from haven.certs.claims import Facts, facts_doc, facts_of, read_claims
from haven.certs.trust import TrustedKey, TrustList, iso, timestamp
from haven.errors import (
    CertificateError,
    ExpiredCertificate,
    ForgedCertificate,
    MalformedCertificate,
    NotYetValidCertificate,
    RevokedCertificate,
    UnknownIssuer,
)
from haven.exit_codes import exit_code

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
    if text and text[0] in _BASE45:
        return "haven"  # Base45 decoding checks the rest; no other format starts with a Base45 character
    if text.startswith(("shc:/", "{")) or (text.startswith("eyJ") and text.count(".") == 2):
        return "shc"
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
    signed = _haven_signed(text, trust)
    _check_signature(signed)
    (_, doc, facts_json), iat, exp = _haven_claims(signed, timestamp(now))
    listed, key, kid = signed[:3]
    facts = {
        **doc,
        "issued_at": _iso(iat),
        "expires_at": _iso(exp),
        "issuer": {"kid": kid.hex(), "label": key.label, "network": listed.network},
    }
    tail = _tail_json(iat, exp, kid, key.label, listed.network)
    return Verified("haven", facts, facts_json=f"{{{facts_json},{tail}")


# A Haven certificate past its structure and key checks (steps 1 and 2): the trust list, the key, its kid,
# the payload, the DER signature still to check (None: checked already) and the message it covers.
_Signed = tuple[TrustList, TrustedKey, bytes, bytes, bytes | None, bytes]


def _haven_signed(text: str, trust: TrustList | None, raw: bytes | None = None) -> _Signed:
    """Steps 1 and 2 of :func:`verify_haven` (structure, then key), and what step 3 needs.

    ``raw``: the text's Base45 decoding where it is known already.
    """
    fmt = "haven"
    protected_bytes, payload, signature, message = cose.read_canonical_sign1(
        base45.decode(text) if raw is None else raw
    )
    alg, kid = _protected_header(protected_bytes)
    if trust is None:
        raise UnknownIssuer("This site has no trust list: import your network's ('haven trust join').", format=fmt)
    if kid in trust.revoked_kids:
        raise RevokedCertificate(f"The key that signed this certificate ({kid.hex()}) is revoked.", format=fmt)
    key = trust.key(kid)
    if key is None:
        raise UnknownIssuer(f"No key {kid.hex()} in trust list {trust.sequence} of {trust.network}.", format=fmt)
    if alg == cose.ES256 and len(signature) == cose.P256_SIGNATURE_BYTES:
        if not cose.is_low_s(signature):  # (r, n - s) of a valid signature verifies too: a second copy of a stub
            raise ForgedCertificate("The signature has a high s, which Haven never issues: it was altered.", format=fmt)
        return trust, key, kid, payload, cose.p256_der(signature), message  # trust-list keys are P-256
    cose.verify_signature(alg, key.public_key(), message, signature, fmt)  # refuses, saying why
    return trust, key, kid, payload, None, message


def _check_signature(signed: _Signed) -> None:
    """Step 3 of :func:`verify_haven`: the signature (``forged`` if it does not verify)."""
    _, key, _, _, der, message = signed
    if der is not None:
        cose.verify_p256_der(key.public_key_object, message, der, "haven")


def _haven_claims(signed: _Signed, now: int) -> tuple[tuple[Facts, dict[str, Any], str], int, int]:
    """Steps 4 to 7 of :func:`verify_haven`, once the signature verified: the facts, iat and exp."""
    trust, key, kid, payload, _, _ = signed
    try:
        exp, iat, cti, encoded_facts = read_claims(payload)
        facts = _facts_result(encoded_facts)
    except CertificateError as exc:
        exc.signature_valid = True
        raise
    if cti in trust.revoked_ctis or not week_start(key.not_before) <= iat <= key.not_after or not iat <= now <= exp:
        _refuse_checked(trust, key, kid, cti, iat, exp, facts[1], now)
    return facts, iat, exp


def _refuse_checked(
    trust: TrustList, key: TrustedKey, kid: bytes, cti: bytes, iat: int, exp: int, doc: dict[str, Any], now: int
) -> None:
    """Raise the refusal of a certificate whose signature verified, with what it states."""
    fmt = "haven"
    facts = {
        **doc,
        "issued_at": _iso(iat),
        "expires_at": _iso(exp),
        "issuer": {"kid": kid.hex(), "label": key.label, "network": trust.network},
    }
    if cti in trust.revoked_ctis:
        raise RevokedCertificate("This certificate is revoked.", format=fmt, signature_valid=True, facts=facts)
    if not week_start(key.not_before) <= iat <= key.not_after:
        raise UnknownIssuer(
            f"Key {kid.hex()} was not a signing key at the certificate's issue time.",
            format=fmt,
            signature_valid=True,
            facts=facts,
        )
    check_times(fmt, now, iat, exp, facts)


@functools.lru_cache(maxsize=4096)
def _facts_result(encoded: bytes) -> tuple[Facts, dict[str, Any], str]:
    """The facts claim as ``Facts``, as its document and as compact JSON (inside its braces).

    A pure function of bytes :func:`read_claims` has just checked, called after the
    signature verified: the cache saves rendering, never a check.
    """
    facts = facts_of(encoded)
    doc = facts_doc(facts)
    return facts, doc, _compact(doc)[1:-1]


_HAVEN_LINE_HEAD = '{"valid":true,"signature_valid":true,"reason":null,"format":"haven","facts":{'


@functools.lru_cache(maxsize=4096)
def _valid_line(facts_json: str, iat: int, exp: int, kid: bytes, label: str, network: str) -> str:
    """A valid Haven certificate's JSON result: what it states and who signed it, once every check passed."""
    return f"{_HAVEN_LINE_HEAD}{facts_json},{_tail_json(iat, exp, kid, label, network)}}}"


class BulkVerifier:
    """Many certificates checked at one moment: one compact JSON result each (``haven cert verify -``).

    Every certificate gets every check of :func:`verify`, in its order, and the
    same result. What a batch saves: per-call set-up (the moment's seconds),
    building result dictionaries only to encode them, and cache misses: all
    structures and keys of a batch are read first, then all signatures are
    verified back to back, then all claims, so the signature code and the
    curve's tables stay in the processor's caches instead of being evicted by
    the parsing in between (about 5 % of the time per certificate).
    """

    def __init__(self, trust: Trust, now: dt.datetime) -> None:
        self.trust = trust
        self.now = now
        self._seconds = timestamp(now)

    def result(self, text: str) -> tuple[str, int]:
        """The JSON result of ``text`` (one line, no newline) and its exit code (0 when valid)."""
        return self.results([text])[0]

    def results(self, texts: list[str]) -> list[tuple[str, int]]:
        """:meth:`result` of each text, in order."""
        results: list[tuple[str, int]] = []
        at_haven: list[int] = []
        haven_texts: list[str] = []
        for text in texts:
            if detect_format(text) == "haven":
                at_haven.append(len(results))
                haven_texts.append(text)
                results.append(_PENDING)
            else:
                results.append(self._other(text))
        # Base45 for the whole batch at once; if any text is not plain Base45, each is decoded (and refused) alone.
        raws: list[bytes] | list[None] = base45.decode_many(haven_texts) or [None] * len(haven_texts)
        signed: list[tuple[int, _Signed]] = []
        haven = self.trust.haven
        for at, text, raw in zip(at_haven, haven_texts, raws, strict=True):
            try:
                signed.append((at, _haven_signed(text, haven, raw)))
            except CertificateError as exc:
                results[at] = _refused(exc)
        checked: list[tuple[int, _Signed]] = []
        for at, certificate in signed:
            try:
                _check_signature(certificate)
            except CertificateError as exc:
                results[at] = _refused(exc)
                continue
            checked.append((at, certificate))
        now = self._seconds
        for at, certificate in checked:
            try:
                (_, _, facts_json), iat, exp = _haven_claims(certificate, now)
            except CertificateError as exc:
                results[at] = _refused(exc)
                continue
            listed, key, kid = certificate[:3]
            results[at] = (_valid_line(facts_json, iat, exp, kid, key.label, listed.network), 0)
        return results

    def _other(self, text: str) -> tuple[str, int]:
        try:
            return verify(text, self.trust, self.now).to_json(), 0
        except CertificateError as exc:
            return _compact(refusal_doc(exc)), exit_code(exc)


_PENDING = ("", 0)  # a Haven certificate's place in the results until its checks are done


def _refused(exc: CertificateError) -> tuple[str, int]:
    """A Haven certificate's refusal, as :func:`verify` reports it."""
    if exc.format is None:
        exc.format = "haven"
    return _compact(refusal_doc(exc)), exit_code(exc)
