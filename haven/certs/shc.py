"""SMART Health Cards: ``shc:/`` numeric QR text (one or more chunks), compact JWS, or the
``.smart-health-card`` file; ES256 signatures over DEFLATE-compressed JSON.

Issuers are trusted offline (:class:`haven.certs.issuers.Issuer`: an ``iss``
URL with its JWKS and, per key, the card revocation list). The signing key is
found by ``kid`` first and the signature checked before the payload is read,
so any change to a card reads as forged; the payload's ``iss`` must then be
the issuer whose key signed it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from haven.certs import codes, cose
from haven.certs.facts import ForeignFacts, ForeignTest, ForeignVaccination
from haven.certs.issuers import Issuer, b64url, public_key
from haven.certs.result import Verified, check_times
from haven.certs.trust import timestamp
from haven.core.catalogue import catalogue
from haven.errors import ForgedCertificate, MalformedCertificate, RevokedCertificate, UnknownIssuer

FORMAT = "shc"
MAX_SINGLE_JWS = 1195  # the spec's limit for one version-22 QR code
MAX_CHUNK_JWS = 1191
MAX_INFLATED = 256 * 1024
MAX_CHUNKS = 64
CVX = "http://hl7.org/fhir/sid/cvx"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
_CHUNK = re.compile(r"shc:/(?:([1-9][0-9]{0,2})/([1-9][0-9]{0,2})/)?([0-9]*)")


# ---------------------------------------------------------------- decoding


def _digits_to_jws(digits: str) -> str:
    if len(digits) % 2:
        raise MalformedCertificate("The numeric QR text has an odd number of digits.", format=FORMAT)
    values = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    if any(v > 77 for v in values):
        raise MalformedCertificate("The numeric QR text holds a value above 77.", format=FORMAT)
    return "".join(chr(v + 45) for v in values)


def numeric_to_jws(text: str) -> str:
    """The JWS from ``shc:/`` text: one QR, or several chunks separated by spaces (any order)."""
    parts = text.split(" ")
    if len(parts) > MAX_CHUNKS:
        raise MalformedCertificate("Too many QR chunks.", format=FORMAT)
    chunks: dict[int, str] = {}
    for part in parts:
        match = _CHUNK.fullmatch(part)
        if not match or not match.group(3):
            raise MalformedCertificate("A SMART Health Card QR text is 'shc:/' followed by digits.", format=FORMAT)
        index, total = int(match.group(1) or 1), int(match.group(2) or 1)
        if match.group(1) is None and len(parts) > 1:
            raise MalformedCertificate("Chunks of a multi-part card must say 'shc:/i/n/'.", format=FORMAT)
        if total != len(parts) or not 1 <= index <= total:
            raise MalformedCertificate(
                f"QR chunk {index} of {total} does not fit the {len(parts)} chunk(s) given.", format=FORMAT
            )
        if index in chunks:
            raise MalformedCertificate(f"QR chunk {index} is given twice.", format=FORMAT)
        jws = _digits_to_jws(match.group(3))
        if len(jws) > (MAX_SINGLE_JWS if len(parts) == 1 else MAX_CHUNK_JWS):
            raise MalformedCertificate(
                f"QR chunk {index} holds more than one QR code may carry ({len(jws)} characters).", format=FORMAT
            )
        chunks[index] = jws
    return "".join(chunks[i] for i in range(1, len(parts) + 1))


def file_to_jws(text: str) -> list[str]:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise MalformedCertificate("The SMART Health Card file is not JSON.", format=FORMAT) from None
    jwses = doc.get("verifiableCredential") if isinstance(doc, dict) else None
    if not isinstance(jwses, list) or not jwses or not all(isinstance(j, str) for j in jwses):
        raise MalformedCertificate("The file has no 'verifiableCredential' list of cards.", format=FORMAT)
    return jwses


@dataclass(frozen=True)
class Jws:
    header: dict[str, Any]
    signing_input: bytes
    compressed: bytes
    signature: bytes


def parse_jws(jws: str) -> Jws:
    parts = jws.split(".")
    if len(parts) != 3:
        raise MalformedCertificate("A SMART Health Card JWS has three parts.", format=FORMAT)
    try:
        header = json.loads(b64url(parts[0]).decode("utf-8"))
        compressed, signature = b64url(parts[1]), b64url(parts[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedCertificate("The JWS is not base64url-encoded JSON.", format=FORMAT) from None
    if not isinstance(header, dict):
        raise MalformedCertificate("The JWS header is not a JSON object.", format=FORMAT)
    for name in ("alg", "kid", "zip"):
        if not isinstance(header.get(name), str):
            raise MalformedCertificate(f"The JWS header has no '{name}'.", format=FORMAT)
    if header["zip"] != "DEF":
        raise MalformedCertificate("The card's payload is not DEFLATE-compressed ('zip': 'DEF').", format=FORMAT)
    return Jws(header, f"{parts[0]}.{parts[1]}".encode("ascii"), compressed, signature)


def inflate(data: bytes) -> dict[str, Any]:
    try:
        inflater = zlib.decompressobj(-15)
        raw = inflater.decompress(data, MAX_INFLATED)
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            raise ValueError("truncated, trailing or too large")
        # Decoding first makes a byte-order mark an error (json.loads on bytes would skip it).
        payload = json.loads(raw.decode("utf-8"))
    except (zlib.error, ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedCertificate(
            "The card's payload does not inflate to JSON.", format=FORMAT, signature_valid=True
        ) from None
    if not isinstance(payload, dict):
        raise MalformedCertificate("The card's payload is not a JSON object.", format=FORMAT, signature_valid=True)
    return payload


# ---------------------------------------------------------------- facts


def _codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [
        (str(c.get("system")), str(c.get("code"))) for c in concept["coding"] if isinstance(c, dict) and "code" in c
    ]


@dataclass(frozen=True)
class IssuerKey:
    """Who signed a card: its issuer's URL and the key's id."""

    iss: str
    kid: str

    def to_doc(self) -> dict[str, Any]:
        return {"iss": self.iss, "kid": self.kid}


def _vaccination(r: Mapping[str, Any]) -> ForeignVaccination:
    cvx = next((code for system, code in _codings(r.get("vaccineCode")) if system == CVX), None)
    product = codes.product_for("cvx", cvx) if cvx else None
    applied = r.get("protocolApplied")
    applied = applied[0] if isinstance(applied, list) and applied and isinstance(applied[0], dict) else {}
    dose = applied.get("doseNumberPositiveInt")
    of = applied.get("seriesDosesPositiveInt")
    return ForeignVaccination(
        disease=catalogue().product(product).diseases[0] if product else None,
        vaccine_type=codes.vaccine_type(product),
        product=product,
        product_code=f"cvx:{cvx}" if cvx else None,
        dose=dose if isinstance(dose, int) else None,
        of=of if isinstance(of, int) else codes.doses_in_schedule(product),
        date=str(r.get("occurrenceDateTime") or "")[:10] or None,
    )


def _test(r: Mapping[str, Any]) -> ForeignTest | None:
    test = next(
        (codes.LOINC_TESTS[c] for s, c in _codings(r.get("code")) if s == LOINC and c in codes.LOINC_TESTS),
        None,
    )
    if test is None:
        return None
    result = next(
        (
            codes.SNOMED_RESULTS[c]
            for s, c in _codings(r.get("valueCodeableConcept"))
            if s == SNOMED and c in codes.SNOMED_RESULTS
        ),
        None,
    )
    return ForeignTest("covid-19", test, result, str(r.get("effectiveDateTime") or "")[:10] or None)


def facts_of(payload: Mapping[str, Any], issuer: IssuerKey, nbf: float, exp: float | None) -> ForeignFacts:
    """Vaccinations and SARS-CoV-2 tests in the card's FHIR bundle (never the Patient resource)."""
    try:
        entries = payload["vc"]["credentialSubject"]["fhirBundle"]["entry"]
        resources = [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    except (KeyError, TypeError):
        raise MalformedCertificate("The card holds no FHIR bundle.", format=FORMAT, signature_valid=True) from None
    vaccinations: list[ForeignVaccination] = []
    tests: list[ForeignTest] = []
    for r in resources:
        if r.get("resourceType") == "Immunization" and r.get("status", "completed") == "completed":
            vaccinations.append(_vaccination(r))
        elif r.get("resourceType") == "Observation" and (test := _test(r)) is not None:
            tests.append(test)
    return ForeignFacts(
        tuple(_infer_doses(vaccinations)),
        tuple(tests),
        issued_at=_iso(nbf),
        expires_at=_iso(exp) if exp else None,
        issuer=issuer,
    )


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")


def _infer_doses(vaccinations: list[ForeignVaccination]) -> list[ForeignVaccination]:
    """Number doses by date within each disease when the card does not (SHC usually does not)."""
    seen: dict[Any, int] = {}
    numbered = list(vaccinations)
    for at in sorted(range(len(numbered)), key=lambda i: numbered[i].date or ""):
        v = numbered[at]
        key = v.disease or v.product_code
        seen[key] = seen.get(key, 0) + 1
        if v.dose is None:
            v = dataclasses.replace(v, dose=seen[key], dose_inferred=True)
        if v.of is not None and v.dose is not None and v.dose > v.of:
            v = dataclasses.replace(v, of=v.dose)  # a booster: dose 3 of 3, as EU DCCs write it
        numbered[at] = v
    return numbered


# ---------------------------------------------------------------- verification


def _find_key(issuers: Mapping[str, Issuer], kid: str) -> tuple[Issuer, dict[str, Any]] | None:
    for issuer in issuers.values():
        if kid in issuer.keys:
            return issuer, issuer.keys[kid]
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value < 1e11 else None


def verify_jws(jws: str, issuers: Mapping[str, Issuer], now: dt.datetime) -> tuple[ForeignFacts, tuple[str, ...]]:
    """One card's facts and warnings, once every check passed."""
    parsed = parse_jws(jws)
    kid = parsed.header["kid"]
    found = _find_key(issuers, kid)
    if found is None:
        raise UnknownIssuer(f"No trusted SMART Health Card issuer has key {kid}.", format=FORMAT)
    issuer, jwk = found
    if parsed.header["alg"] != "ES256":
        raise ForgedCertificate(
            f"The card names algorithm {parsed.header['alg']!r}; its issuer's key is ES256.", format=FORMAT
        )
    if len(parsed.signature) != cose.P256_SIGNATURE_BYTES:
        raise MalformedCertificate(
            "The card's signature is not a 64-byte ES256 signature (DER-encoded signatures are not allowed).",
            format=FORMAT,
        )
    cose.verify_signature(cose.ES256, public_key(jwk), parsed.signing_input, parsed.signature, FORMAT)
    payload = inflate(parsed.compressed)
    if payload.get("iss") != issuer.iss:
        raise UnknownIssuer(
            f"The card says it was issued by {payload.get('iss')!r}, but it is signed by a key of {issuer.iss}.",
            format=FORMAT,
            signature_valid=True,
        )
    nbf, exp = _number(payload.get("nbf")), _number(payload.get("exp"))
    if nbf is None or ("exp" in payload and exp is None):
        raise MalformedCertificate(
            "The card has no readable 'nbf' (or a broken 'exp').", format=FORMAT, signature_valid=True
        )
    facts = facts_of(payload, IssuerKey(issuer.iss, kid), nbf, exp)
    warnings = _check_revocation(issuer, jwk, kid, payload, nbf, facts)
    check_times(FORMAT, timestamp(now), nbf, exp, facts)
    return facts, warnings


def _check_revocation(
    issuer: Issuer, jwk: Mapping[str, Any], kid: str, payload: Mapping[str, Any], nbf: float, facts: ForeignFacts
) -> tuple[str, ...]:
    crl = issuer.crls.get(kid)
    if crl is None:
        if "crlVersion" in jwk:
            return (f"Key {kid} publishes a revocation list that this site does not have; revocation was not checked.",)
        return ()
    warnings: tuple[str, ...] = ()
    if isinstance(jwk.get("crlVersion"), int) and crl.get("ctr") != jwk["crlVersion"]:
        warnings = (f"The revocation list of key {kid} is not the version its key names.",)
    vc = payload.get("vc")
    rid = vc.get("rid") if isinstance(vc, dict) else None
    if not isinstance(rid, str):
        return warnings
    for entry in crl.get("rids") or ():
        revoked_id, _, when = str(entry).partition(".")
        if revoked_id != rid:
            continue
        # "rid.timestamp" revokes only the cards issued before that time.
        if not when or (when.isdigit() and nbf < int(when)):
            raise RevokedCertificate(
                "The issuer has revoked this card.", format=FORMAT, signature_valid=True, facts=facts.to_doc()
            )
    return warnings


def verify(text: str, issuers: Mapping[str, Issuer], now: dt.datetime) -> Verified:
    """Verify a SMART Health Card given as QR text, JWS or file (every card in a file must verify)."""
    if text.startswith("shc:/"):
        jwses = [numeric_to_jws(text)]
    elif text.startswith("{"):
        jwses = file_to_jws(text)
    else:
        jwses = [text]
    results = [verify_jws(j, issuers, now) for j in jwses]
    first, warnings = results[0]
    if len(results) == 1:
        return Verified(FORMAT, first, warnings)
    merged = dataclasses.replace(
        first,
        vaccinations=tuple(v for facts, _ in results for v in facts.vaccinations),
        tests=tuple(t for facts, _ in results for t in facts.tests),
    )
    return Verified(FORMAT, merged, tuple(w for _, found in results for w in found))
