"""External issuers a verifier trusts, read from bytes: EU DCC signers (X.509) and SMART Health Card issuers.

An EU DCC signer is a document signer certificate (DSC): its ``kid`` is the
first 8 bytes of SHA-256 over its DER. An SHC issuer is its ``iss`` URL, its
JWKS and, per key, the card revocation list the spec publishes at
``crl/<kid>.json``. Nothing here opens a file: the edges read them and pass
the bytes, with the name to say in an error (``source``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from haven.core import strictjson
from haven.errors import InputError

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
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
JWK_MEMBERS = ("kty", "kid", "use", "alg", "crv", "x", "y", "crlVersion")  # what a verifier keeps of a key


# ---------------------------------------------------------------- EU DCC signers


@dataclass(frozen=True)
class Signer:
    """A document signer certificate (DSC)."""

    der: bytes
    cert: x509.Certificate

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # The parsed certificate does not pickle; its DER does (trust passes to worker processes).
        return signer_from_der, (self.der,)

    @functools.cached_property
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
        return dict(self._doc)

    @functools.cached_property
    def _doc(self) -> dict[str, str]:
        # Read once per signer: formatting the subject costs more than the rest of a verification's facts.
        return {
            "kid": base64.b64encode(self.kid).decode(),
            "subject": self.cert.subject.rfc4514_string(),
            "not_before": self.cert.not_valid_before_utc.isoformat(),
            "not_after": self.cert.not_valid_after_utc.isoformat(),
        }


def signer_from_der(der: bytes) -> Signer:
    try:
        return Signer(der, x509.load_der_x509_certificate(der))
    except ValueError:
        raise InputError("This file holds a certificate that cannot be read as X.509.") from None


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
    return [signer_from_der(der) for der in blocks]


# ---------------------------------------------------------------- SMART Health Card issuers


@dataclass
class Issuer:
    """One SHC issuer as this site trusts it: ``iss``, its keys and revocation lists."""

    iss: str
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # kid -> JWK
    crls: dict[str, dict[str, Any]] = field(default_factory=dict)  # kid -> CRL

    def to_json(self) -> dict[str, Any]:
        return {"iss": self.iss, "keys": list(self.keys.values()), "crls": self.crls}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Issuer:
        return cls(doc["iss"], {k["kid"]: k for k in doc["keys"]}, dict(doc.get("crls") or {}))

    def to_doc(self) -> dict[str, Any]:
        return {"iss": self.iss, "kids": sorted(self.keys), "revocation_lists": sorted(self.crls)}


def b64url(text: str) -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an EC public JWK: what SHC requires as its ``kid``."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def public_key(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not a P-256 key")
    x, y = b64url(str(jwk["x"])), b64url(str(jwk["y"]))
    if len(x) != 32 or len(y) != 32:
        raise ValueError("bad coordinates")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)


def _san_issuers(jwk: Mapping[str, Any]) -> set[str]:
    """Issuer URLs named by a key's x5c leaf certificate (SAN URI), as the SHC spec requires them."""
    chain = jwk.get("x5c")
    if not isinstance(chain, list) or not chain:
        return set()
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return set()
    return set(san.get_values_for_type(x509.UniformResourceIdentifier))


def looks_like_jwks(data: bytes) -> bool:
    """Whether an issuer file is a JWKS (JSON) rather than an X.509 certificate."""
    return data.lstrip()[:1] == b"{"


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"The {what} cannot be read: {exc}.") from None


def read_jwks(data: bytes, source: str, iss: str | None = None) -> Issuer:
    """An issuer from a JWKS file's bytes (``source``: its name), without revocation lists yet.

    A JWKS does not say whose it is. The issuer URL is ``iss`` when given, else
    the JWKS's own ``iss`` member, else the URL its keys' x5c certificates name
    (every key of a JWKS is published by one issuer at ``<iss>/.well-known/jwks.json``).
    """
    doc = strictjson.loads(_text(data, f"JWKS file {source}"), f"JWKS file {source}")
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise InputError(f"{source} is not a JWKS (no 'keys' list).")
    keys: dict[str, dict[str, Any]] = {}
    named: set[str] = set()
    for jwk in doc["keys"]:
        try:
            public_key(jwk)
            kid = jwk["kid"]
        except (ValueError, KeyError, TypeError):
            continue  # not a key that can sign a health card; ignore it like any verifier would
        if kid != thumbprint(jwk):
            continue  # the spec requires kid = thumbprint; a key breaking it is not used
        keys[kid] = {k: v for k, v in jwk.items() if k in JWK_MEMBERS}
        named |= _san_issuers(jwk)
    iss = iss or (doc.get("iss") if isinstance(doc.get("iss"), str) else None)
    if iss is None:
        if len(named) != 1:
            raise InputError(
                f"{source} does not say which issuer it belongs to: give it as ISSUER_URL={source} "
                "(or 'haven trust add-issuer --iss URL')."
            )
        iss = named.pop()
    if not keys:
        raise InputError(f"{source} holds no P-256 signing key.")
    return Issuer(iss, keys)


def with_revocation_list(issuer: Issuer, kid: str, data: bytes, source: str) -> Issuer:
    """``issuer`` with the revocation list of its key ``kid`` (a ``crl/<kid>.json`` file's bytes)."""
    crl = strictjson.loads(_text(data, f"revocation list {source}"), f"revocation list {source}")
    if not isinstance(crl, dict) or crl.get("kid") != kid or crl.get("method") != "rid":
        raise InputError(f"{source} is not a revocation list for key {kid}.")
    return replace(issuer, crls={**issuer.crls, kid: crl})


ExternalIssuer = Issuer | tuple[Signer, ...]  # what one issuer file holds: an SHC issuer, or EU DCC signers
