"""COSE_Sign1 (RFC 9052) with ES256 and PS256: build, take apart, check.

Only what certificates need. ECDSA signatures are COSE's raw ``r || s``
(64 bytes for P-256), never DER: fixed length, so every stub of a batch has
the same length, and it is what WebCrypto's ``verify`` takes as is.
Signing is deterministic (RFC 6979): the same key and message always give the
same signature, so test vectors replay byte for byte and a weak random number
generator cannot leak the key. Every message differs anyway (random ``cti``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from haven.certs import cbor
from haven.errors import ForgedCertificate, MalformedCertificate

ES256 = -7
PS256 = -37
ALG_NAMES = {ES256: "ES256", PS256: "PS256"}
HEADER_ALG = 1
HEADER_KID = 4
TAG_SIGN1 = 18
TAG_CWT = 61
P256_SIGNATURE_BYTES = 64

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1: the raw protected header bytes (what was signed) and the rest."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes

    def header(self, label: int) -> Any:
        """A header value, protected first (a protected value always wins)."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected_bytes, self.payload)


def sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    """The bytes a COSE_Sign1 signature covers (``Sig_structure`` with empty external AAD)."""
    return cbor.dumps(["Signature1", protected_bytes, b"", payload])


def sign_es256(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    der = key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def encode_sign1(
    key: ec.EllipticCurvePrivateKey, protected: dict[int, Any], payload: bytes, tagged: bool = False
) -> bytes:
    """A COSE_Sign1 over ``payload`` with an ES256 signature (``protected`` must name alg ES256)."""
    protected_bytes = cbor.dumps(protected)
    signature = sign_es256(key, sig_structure(protected_bytes, payload))
    body = [protected_bytes, {}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, body), canonical=True) if tagged else cbor.dumps(body)


def decode_sign1(data: bytes, canonical: bool, what: str = "certificate") -> Sign1:
    """Take a COSE_Sign1 apart (tag 18 optional; a CWT tag 61 around it is allowed when not canonical)."""
    item = cbor.loads(data, what, canonical=canonical)
    if not canonical:
        if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
            item = item.value
        if isinstance(item, cbor2.CBORTag) and item.tag == TAG_SIGN1:
            item = item.value
    if not cbor.is_array(item, 4):
        raise MalformedCertificate(f"The {what} is not a COSE_Sign1 structure.")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes) or not isinstance(unprotected, Mapping):
        raise MalformedCertificate(f"The {what} has malformed COSE headers.")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise MalformedCertificate(f"The {what} has no payload or no signature.")
    protected: Any = {}
    if protected_bytes:
        protected = cbor.loads(protected_bytes, f"{what}'s protected header", canonical=canonical)
        if not isinstance(protected, Mapping):
            raise MalformedCertificate(f"The {what}'s protected header is not a map.")
    return Sign1(protected_bytes, dict(protected), dict(unprotected), payload, signature)


def verify_signature(alg: Any, key: PublicKey, message: bytes, signature: bytes, fmt: str) -> None:
    """Check a COSE signature; :class:`ForgedCertificate` if it does not match.

    The algorithm must fit the key: ES256 only with an EC key, PS256 only
    with an RSA key. Anything else is treated as an algorithm-confusion attempt.
    """
    try:
        if alg == ES256 and isinstance(key, ec.EllipticCurvePublicKey):
            # ES256 is ECDSA with SHA-256; COSE ties it to no curve, and EU DCC signers use P-384 too.
            # Haven's own keys and SHC keys are P-256 by construction.
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                raise ForgedCertificate("The signature has the wrong length for its key.", format=fmt)
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
            return
        if alg == PS256 and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(signature, message, pss, hashes.SHA256())
            return
    except InvalidSignature:
        raise ForgedCertificate("The signature does not match the certificate's content.", format=fmt) from None
    name = ALG_NAMES.get(alg, str(alg)[:20]) if isinstance(alg, int) else type(alg).__name__
    raise ForgedCertificate(
        f"The certificate names algorithm {name}, which its signer's key does not use.",
        format=fmt,
    )
