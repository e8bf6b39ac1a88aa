"""EU Digital COVID Certificates (``HC1:``): decode, check against a signer, read the facts.

Layers: ``HC1:`` prefix, Base45, zlib, COSE_Sign1 (tag 18, or untagged, or
inside a CWT tag 61), CWT claims with the health certificate under -260 -> 1.
Signers are X.509 certificates (DSCs) given by the verifier; the ``kid`` (in
the protected header, else the unprotected one) must be the first 8 bytes of
SHA-256 over the signer's DER. ES256 and PS256 are accepted. A DSC whose
extended key usage names DCC types may sign only those types.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from haven.certs import base45, cbor, codes, cose
from haven.certs.facts import ForeignFacts, ForeignTest, ForeignVaccination
from haven.certs.issuers import Signer
from haven.certs.result import Verified, check_times
from haven.certs.trust import timestamp
from haven.errors import CertificateError, MalformedCertificate, UnknownIssuer

FORMAT = "eu-dcc"
PREFIX = "HC1:"
MAX_INFLATED = 64 * 1024  # real certificates are < 2 KiB; more is a zip bomb
CLAIM_HCERT = -260
TYPE_NAMES = {"v": "vaccination", "t": "test", "r": "recovery"}


def decode(text: str) -> cose.Sign1:
    """The COSE_Sign1 inside an ``HC1:`` text (no signature check)."""
    if not text.startswith(PREFIX):
        raise MalformedCertificate("An EU DCC starts with 'HC1:'.", format=FORMAT)
    compressed = base45.decode(text[len(PREFIX) :])
    if not compressed or compressed[0] & 0x0F != 8:
        # zlib's first byte names method 8 (deflate); EU DCCs are always compressed
        raise MalformedCertificate("The EU DCC is not zlib-compressed.", format=FORMAT)
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_INFLATED)
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            raise MalformedCertificate("The EU DCC's compressed data is broken or too large.", format=FORMAT)
    except zlib.error:
        raise MalformedCertificate("The EU DCC's compressed data is broken.", format=FORMAT) from None
    return cose.decode_sign1(raw, canonical=False, what="EU DCC")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class DccTest(ForeignTest):
    """A test an EU DCC states, with its sample time as written."""

    sample_time: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {**super().to_doc(), "sample_time": self.sample_time}


@dataclass(frozen=True)
class DccRecovery:
    """A recovery an EU DCC states."""

    disease: str
    first_positive: str | None
    valid_from: str | None
    valid_until: str | None

    def to_doc(self) -> dict[str, Any]:
        return {
            "disease": self.disease,
            "first_positive": self.first_positive,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }


def _rows(hcert: Mapping[Any, Any], kind: str) -> list[Mapping[Any, Any]]:
    return [row for row in hcert.get(kind) or () if isinstance(row, Mapping)]


def facts_of(hcert: Mapping[Any, Any], signer: Signer, iat: float | None, exp: float | None) -> ForeignFacts:
    """What an EU DCC states, without name, birth date, country, issuer or certificate id."""
    vaccinations = []
    for v in _rows(hcert, "v"):
        mp = _text(v.get("mp"))
        product = codes.product_for("eu_dcc_mp", mp) if mp else None
        vp = _text(v.get("vp"))
        vaccinations.append(
            ForeignVaccination(
                disease=codes.disease_for_snomed(str(v.get("tg"))),
                vaccine_type=codes.vaccine_type(product, codes.EU_VACCINE_TYPES.get(vp or "", vp)),
                product=product,
                product_code=mp,
                dose=_int(v.get("dn")),
                of=_int(v.get("sd")),
                date=_text(v.get("dt")),
            )
        )
    tests = []
    for t in _rows(hcert, "t"):
        tt, tr, sc = _text(t.get("tt")), _text(t.get("tr")), _text(t.get("sc"))
        tests.append(
            DccTest(
                disease=codes.disease_for_snomed(str(t.get("tg"))),
                test=codes.EU_TEST_TYPES.get(tt or "", tt),
                result=codes.SNOMED_RESULTS.get(tr or "", tr),
                date=sc[:10] if sc else None,
                sample_time=sc,
            )
        )
    recoveries = tuple(
        DccRecovery(
            disease=codes.disease_for_snomed(str(r.get("tg"))),
            first_positive=_text(r.get("fr")),
            valid_from=_text(r.get("df")),
            valid_until=_text(r.get("du")),
        )
        for r in _rows(hcert, "r")
    )
    return ForeignFacts(tuple(vaccinations), tuple(tests), _iso(iat), _iso(exp), signer, recoveries)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if not 0 <= value < 1e11:  # NumericDate until the year 5138
        return None
    return float(value)


def verify(text: str, signers: Iterable[Signer], now: dt.datetime) -> Verified:
    """Verify an ``HC1:`` text against ``signers`` (DSCs) as of ``now``."""
    signed = decode(text)
    alg = signed.header(cose.HEADER_ALG)
    kid = signed.header(cose.HEADER_KID)
    if alg is None:
        raise MalformedCertificate("The EU DCC names no signature algorithm.", format=FORMAT)
    if not isinstance(kid, bytes):
        raise UnknownIssuer("The EU DCC names no signer (kid).", format=FORMAT)
    signer = next((s for s in signers if s.kid == kid), None)
    if signer is None:
        raise UnknownIssuer(
            f"No trusted signer certificate has kid {base64.b64encode(kid).decode()}.",
            format=FORMAT,
        )
    cose.verify_signature(alg, signer.cert.public_key(), signed.to_be_signed(), signed.signature, FORMAT)  # type: ignore[arg-type]
    try:
        claims = cbor.loads(signed.payload, "EU DCC's claims")
        hcert = claims[CLAIM_HCERT][1]
        if not isinstance(claims, Mapping) or not isinstance(hcert, Mapping):
            raise TypeError
    except CertificateError as exc:
        exc.format, exc.signature_valid = FORMAT, True
        raise
    except (TypeError, KeyError, IndexError):
        raise MalformedCertificate(
            "The EU DCC's claims hold no health certificate.", format=FORMAT, signature_valid=True
        ) from None
    iat, exp = _number(claims.get(6)), _number(claims.get(4))
    if exp is None or (6 in claims and iat is None):
        raise MalformedCertificate(
            "The EU DCC has no readable expiry or issue time.", format=FORMAT, signature_valid=True
        )
    facts = facts_of(hcert, signer, iat, exp)
    kinds = {k for k in ("v", "t", "r") if hcert.get(k)}
    allowed = signer.allowed_types()
    if allowed and not kinds <= allowed:
        wanted = ", ".join(sorted(TYPE_NAMES[k] for k in kinds - allowed))
        raise UnknownIssuer(
            f"The signer may not sign {wanted} certificates (its key usage says so).",
            format=FORMAT,
            signature_valid=True,
            facts=facts.to_doc(),
        )
    check_times(FORMAT, timestamp(now), iat, exp, facts)
    if iat is not None and not (
        signer.cert.not_valid_before_utc.timestamp() <= iat <= signer.cert.not_valid_after_utc.timestamp()
    ):
        raise UnknownIssuer(
            "The signer's certificate was not valid when this certificate was issued.",
            format=FORMAT,
            signature_valid=True,
            facts=facts.to_doc(),
        )
    return Verified(FORMAT, facts)


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return None
