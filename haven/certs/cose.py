"""COSE_Sign1 (RFC 9052) with ES256 and PS256: build, take apart, check.

Only what certificates need. ECDSA signatures are COSE's raw ``r || s``
(64 bytes for P-256), never DER: fixed length, so every stub of a batch has
the same length, and it is what WebCrypto's ``verify`` takes as is.
Signing is deterministic (RFC 6979): the same key and message always give the
same signature, so test vectors replay byte for byte and a weak random number
generator cannot leak the key. Every message differs anyway (random ``cti``).

ECDSA signatures are malleable: if ``(r, s)`` verifies, so does ``(r, n - s)``.
Haven's own signatures are issued with ``s <= n/2`` ("low-s") and Haven's
certificate verifiers refuse the other half, so a stub has exactly one valid
string and nobody can make a second, still valid, copy of it.
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
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_P256_SIZE = 32
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# The largest low s, big-endian: a 32-byte s is low when it compares <= this (bytes compare as numbers here).
_P256_HALF_ORDER = (P256_ORDER // 2).to_bytes(_P256_SIZE, "big")


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


def _bstr_head(n: int) -> bytes:
    """The canonical CBOR head of a byte string of length ``n``."""
    if n < 24:
        return bytes([0x40 + n])
    if n < 0x100:
        return bytes([0x58, n])
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    return b"\x5a" + n.to_bytes(4, "big")


_SIG1_HEAD = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"


def sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    """The bytes a COSE_Sign1 signature covers (``Sig_structure`` with empty external AAD).

    Written out by hand (it is on every verification's path); the tests check
    it against a CBOR encoder.
    """
    return b"".join(
        (_SIG1_HEAD, _bstr_head(len(protected_bytes)), protected_bytes, b"\x40", _bstr_head(len(payload)), payload)
    )


def _read_bstr(raw: bytes, at: int) -> tuple[bytes, int]:
    """A canonically encoded byte string at ``raw[at]``: its value and where the next item starts."""
    if at >= len(raw):
        raise MalformedCertificate("The certificate ends too early.")
    head = raw[at]
    if 0x40 <= head < 0x58:
        n, at = head - 0x40, at + 1
    elif head == 0x58 and at + 1 < len(raw) and raw[at + 1] >= 24:
        n, at = raw[at + 1], at + 2
    elif head == 0x59 and at + 2 < len(raw) and int.from_bytes(raw[at + 1 : at + 3], "big") >= 0x100:
        n, at = int.from_bytes(raw[at + 1 : at + 3], "big"), at + 3
    else:
        raise MalformedCertificate("The certificate is not a canonical COSE_Sign1 (a byte string).")
    if at + n > len(raw):
        raise MalformedCertificate("The certificate ends too early.")
    return raw[at : at + n], at + n


def split_canonical_sign1(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """Protected header bytes, payload and signature of Haven's exact COSE_Sign1 layout.

    Haven writes one layout only: an untagged array of four, the protected
    header, an empty unprotected map, the payload and the signature, each in
    its shortest form. This reads exactly that and refuses anything else, which
    is what a small decoder in a verifier page does too.
    """
    if raw[:1] != b"\x84":
        raise MalformedCertificate("The certificate is not an untagged COSE_Sign1 array.")
    protected, at = _read_bstr(raw, 1)
    if raw[at : at + 1] != b"\xa0":
        raise MalformedCertificate("The certificate's unprotected header is not empty.")
    payload, at = _read_bstr(raw, at + 1)
    signature, at = _read_bstr(raw, at)
    if at != len(raw):
        raise MalformedCertificate("The certificate has bytes after its end.")
    return protected, payload, signature


# Haven's usual layout: 84 | 4d protected(13) | a0 | 58 n payload(n) | 58 40 signature(64).
_USUAL_FIXED_BYTES = 1 + 14 + 1 + 2 + 2 + P256_SIGNATURE_BYTES


def read_canonical_sign1(raw: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """:func:`split_canonical_sign1`, plus the Sig_structure the signature covers.

    The layout every Haven stub has (a 13-byte protected header, a payload of
    24 to 255 bytes, a 64-byte signature) is recognised by its fixed bytes, and
    the Sig_structure is cut from the same bytes (its byte string heads are the
    certificate's own). Anything else takes the general reader.
    """
    n = len(raw) - _USUAL_FIXED_BYTES
    if (
        24 <= n <= 0xFF
        and raw[:2] == b"\x84\x4d"
        and raw[15:17] == b"\xa0\x58"
        and raw[17] == n
        and raw[18 + n : 20 + n] == b"\x58\x40"
    ):
        return raw[2:15], raw[18 : 18 + n], raw[20 + n :], b"".join((_SIG1_HEAD, raw[1:15], b"\x40", raw[16 : 18 + n]))
    protected, payload, signature = split_canonical_sign1(raw)
    return protected, payload, signature, sig_structure(protected, payload)


def sign_es256(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """A deterministic ES256 signature ``r || s`` of a P-256 key, always low-s (``s <= n/2``)."""
    der = key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    if s > P256_ORDER // 2:
        s = P256_ORDER - s  # the same signature's other form: verifies too, and is the one Haven accepts
    return r.to_bytes(_P256_SIZE, "big") + s.to_bytes(_P256_SIZE, "big")


def is_low_s(signature: bytes) -> bool:
    """Whether a 64-byte P-256 ``r || s`` has ``s <= n/2``, the only form Haven issues and accepts."""
    return signature[_P256_SIZE:] <= _P256_HALF_ORDER


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


def verify_p256_der(key: ec.EllipticCurvePublicKey, message: bytes, der: bytes, fmt: str) -> None:
    """:func:`verify_signature` for ES256 where the caller knows the key is P-256, the signature in DER.

    Haven's trust-list keys are P-256 by construction; skipping the type and
    curve checks (abstract-class ``isinstance`` calls) and, with
    :func:`p256_der`, the integer round trip of the DER encoding matters on a
    bulk path.
    """
    try:
        key.verify(der, message, _ECDSA_SHA256)
    except InvalidSignature:
        raise ForgedCertificate("The signature does not match the certificate's content.", format=fmt) from None


# DER of r and s when neither starts with a zero byte: each is 32 bytes, after a zero byte if its top bit is set.
_DER_HEADS = [[bytes([0x30, 68 + r + s, 0x02, 32 + r]) + b"\x00" * r for s in (0, 1)] for r in (0, 1)]
_DER_MIDDLES = [bytes([0x02, 32 + s]) + b"\x00" * s for s in (0, 1)]


def p256_der(signature: bytes) -> bytes:
    """``encode_dss_signature`` of a 64-byte ``r || s``, byte for byte, without the integers.

    The usual case is laid out from templates; a value with a leading zero
    byte (1 in 128) takes the library's encoder.
    """
    r0, s0 = signature[0], signature[_P256_SIZE]
    if r0 and s0:
        r0 >>= 7
        s0 >>= 7
        return b"".join((_DER_HEADS[r0][s0], signature[:_P256_SIZE], _DER_MIDDLES[s0], signature[_P256_SIZE:]))
    return encode_dss_signature(
        int.from_bytes(signature[:_P256_SIZE], "big"), int.from_bytes(signature[_P256_SIZE:], "big")
    )


def verify_signature(alg: Any, key: PublicKey, message: bytes, signature: bytes, fmt: str) -> None:
    """Check a COSE signature; :class:`ForgedCertificate` if it does not match.

    The algorithm must fit the key: ES256 only with an EC key, PS256 only
    with an RSA key. Anything else is treated as an algorithm-confusion attempt.
    """
    try:
        if alg == ES256 and isinstance(key, ec.EllipticCurvePublicKey):
            # ES256 is ECDSA with SHA-256; COSE ties it to no curve, and EU DCC signers use P-384 too.
            # Haven's own keys and SHC keys are P-256 by construction.
            size = _P256_SIZE if isinstance(key.curve, ec.SECP256R1) else (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                raise ForgedCertificate("The signature has the wrong length for its key.", format=fmt)
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            key.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
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
