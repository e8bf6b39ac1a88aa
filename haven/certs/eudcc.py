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
import hashlib
import math
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from haven.certs import base45, cbor, codes, cose
from haven.certs.trust import timestamp
from haven.certs.verify import Verified, check_times
from haven.errors import CertificateError, InputError, MalformedCertificate, UnknownIssuer

FORMAT = "eu-dcc"
PREFIX = "HC1:"
MAX_INFLATED = 64 * 1024  # real certificates are < 2 KiB; more is a zip bomb
CLAIM_HCERT = -260
# Extended key usage OIDs restricting a DSC to some certificate types (both the
# registered arc and the mistaken one some member states used).
EKU_TYPES = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}
TYPE_NAMES = {"v": "vaccination", "t": "test", "r": "recovery"}
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class Signer:
    """A document signer certificate (DSC)."""

    der: bytes
    cert: x509.Certificate

    @property
    def kid(self) -> bytes:
        return hashlib.sha256(self.der).digest()[:8]

    def allowed_types(self) -> set[str]:
        """The DCC types this DSC may sign; empty means all."""
        try:
            eku = self.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (x509.ExtensionNotFound, ValueError):
            # No EKU (or an empty, unreadable one): the DSC is not restricted.
            return set()
        return {EKU_TYPES[o.dotted_string] for o in eku if o.dotted_string in EKU_TYPES}

    def to_doc(self) -> dict[str, Any]:
        return {
            "kid": base64.b64encode(self.kid).decode(),
            "subject": self.cert.subject.rfc4514_string(),
            "not_before": self.cert.not_valid_before_utc.isoformat(),
            "not_after": self.cert.not_valid_after_utc.isoformat(),
        }


def load_signers(data: bytes) -> list[Signer]:
    """DSCs from a file's bytes: DER, PEM (one or more), or base64 DER as in the test data.

    DER is binary and read exactly as given: any byte, whitespace included, may
    end it (the kid is a hash of every byte). Only text forms are trimmed.
    """
    binary = data[:1] == b"\x30"  # a DER SEQUENCE; PEM and base64 start with '-' or a letter
    blocks = [data] if binary else [base64.b64decode(b"".join(m.split())) for m in _PEM.findall(data)]
    if not blocks:
        try:
            blocks = [base64.b64decode(b"".join(data.split()), validate=True)]
        except ValueError:
            raise InputError("This file holds no X.509 certificate (DER or PEM).") from None
    out = []
    for der in blocks:
        try:
            out.append(Signer(der, x509.load_der_x509_certificate(der)))
        except ValueError:
            raise InputError("This file holds a certificate that cannot be read as X.509.") from None
    return out


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


def facts_of(hcert: Mapping[Any, Any]) -> dict[str, Any]:
    """What an EU DCC states, without name, birth date, country, issuer or certificate id."""
    vaccinations, tests, recoveries = [], [], []
    for v in hcert.get("v") or ():
        if not isinstance(v, Mapping):
            continue
        mp = _text(v.get("mp"))
        product = codes.product_for("eu_dcc_mp", mp) if mp else None
        vp = _text(v.get("vp"))
        vaccinations.append(
            {
                "disease": codes.disease_for_snomed(str(v.get("tg"))),
                "vaccine_type": codes.vaccine_type(product, codes.EU_VACCINE_TYPES.get(vp or "", vp)),
                "product": product,
                "product_code": mp,
                "dose": _int(v.get("dn")),
                "of": _int(v.get("sd")),
                "date": _text(v.get("dt")),
            }
        )
    for t in hcert.get("t") or ():
        if not isinstance(t, Mapping):
            continue
        tt, tr, sc = _text(t.get("tt")), _text(t.get("tr")), _text(t.get("sc"))
        tests.append(
            {
                "disease": codes.disease_for_snomed(str(t.get("tg"))),
                "test": codes.EU_TEST_TYPES.get(tt or "", tt),
                "result": codes.SNOMED_RESULTS.get(tr or "", tr),
                "date": sc[:10] if sc else None,
                "sample_time": sc,
            }
        )
    for r in hcert.get("r") or ():
        if not isinstance(r, Mapping):
            continue
        recoveries.append(
            {
                "disease": codes.disease_for_snomed(str(r.get("tg"))),
                "first_positive": _text(r.get("fr")),
                "valid_from": _text(r.get("df")),
                "valid_until": _text(r.get("du")),
            }
        )
    out: dict[str, Any] = {"vaccinations": vaccinations, "tests": tests}
    if recoveries:
        out["recoveries"] = recoveries
    return out


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
    facts = facts_of(hcert)
    facts["issued_at"] = _iso(iat)
    facts["expires_at"] = _iso(exp)
    facts["issuer"] = signer.to_doc()
    kinds = {k for k in ("v", "t", "r") if hcert.get(k)}
    allowed = signer.allowed_types()
    if allowed and not kinds <= allowed:
        wanted = ", ".join(sorted(TYPE_NAMES[k] for k in kinds - allowed))
        raise UnknownIssuer(
            f"The signer may not sign {wanted} certificates (its key usage says so).",
            format=FORMAT,
            signature_valid=True,
            facts=facts,
        )
    check_times(FORMAT, timestamp(now), iat, exp, facts)
    if iat is not None and not (
        signer.cert.not_valid_before_utc.timestamp() <= iat <= signer.cert.not_valid_after_utc.timestamp()
    ):
        raise UnknownIssuer(
            "The signer's certificate was not valid when this certificate was issued.",
            format=FORMAT,
            signature_valid=True,
            facts=facts,
        )
    return Verified(FORMAT, facts)


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return None
