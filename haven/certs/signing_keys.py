"""P-256 keys for Haven certificates and trust lists: make, derive ids, serialise.

A key's id (``kid``) is the first 8 bytes of SHA-256 over its public point
(SEC1 uncompressed, 65 bytes): anyone holding the public key can recompute it,
and it says nothing about who holds the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from haven.errors import TrustError

KID_BYTES = 8
# Order of the P-256 group (FIPS 186-4, D.1.2.3).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def new_private_key(random_bytes: Callable[[int], bytes]) -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key from ``random_bytes`` (FIPS 186-4 B.4.1: 64 extra bits, then reduce).

    Taking the randomness as a parameter keeps tests deterministic; in use it
    is ``secrets.token_bytes``.
    """
    scalar = int.from_bytes(random_bytes(40), "big") % (P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def public_bytes(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public(data: bytes) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError:
        raise TrustError("A public key in the trust list is not a P-256 point.") from None


def kid_of(public: bytes) -> bytes:
    """The key id of a public point.

    >>> kid_of(bytes(65)).hex()
    '98ce42deef51d402'
    """
    return hashlib.sha256(public).digest()[:KID_BYTES]


def fingerprint(public: bytes) -> str:
    """A root key's fingerprint as people compare it: SHA-256, hex, in groups of four.

    >>> fingerprint(bytes(65))[:19]
    '98ce 42de ef51 d402'
    """
    digest = hashlib.sha256(public).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def private_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_der(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_der_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise TrustError("A stored signing key is not a P-256 key.")
    return key
