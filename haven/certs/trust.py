"""The trust list: which keys may sign Haven certificates, and what is revoked.

A network has one root key, kept offline (for a network of one, in the site's
store). The root signs the trust list, a COSE_Sign1 over canonical CBOR::

    {
      1: network,          ; tstr, a label people recognise
      2: sequence,         ; uint, +1 at every change; an older list is refused
      3: issued_at,        ; uint, NumericDate
      4: [* key],          ; keys that may sign certificates
      5: [* kid],          ; revoked keys (bstr .size 8)
      6: [* cti],          ; revoked one-time ids (bstr .size 12)
      7: root_public,      ; bstr .size 65, the root's P-256 point
    }
    key = {1: kid, 2: public (bstr .size 65), 3: label, 4: not_before, 5: not_after}

A key belongs to a programme or region (``label``) and an epoch of whole weeks,
at most four (``not_before`` .. ``not_after``, both Monday 00:00 UTC): it signs
certificates only in that window, and certificates it signed stay verifiable
until they expire. Every time in the list (``issued_at`` too) is a week
boundary, as coarse as a certificate's ``iat``: the list does not say when a key
was made or a change was signed. Keys are made ahead, on that schedule, never at
first use. A key shared by a network's sites does not tell a checkpoint where a
certificate was issued; a site that issues alone (``haven trust standalone``)
is named by its own key, and Haven says so when it is chosen.
Verifiers fetch the list whole and verify offline; nothing is asked per certificate.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs import cbor, cose
from haven.certs.signing_keys import (
    KID_BYTES,
    kid_of,
    load_private_der,
    load_public,
    new_private_key,
    private_der,
    public_bytes,
)
from haven.errors import HavenError, TrustError

EPOCH_MAX_DAYS = 31
EPOCH_MAX_SECONDS = EPOCH_MAX_DAYS * 86400
DAY = 86400
WEEK = 7 * DAY
MONDAY_OFFSET = 4 * DAY  # 1970-01-01 was a Thursday; 1970-01-05 a Monday
EPOCH_WEEKS = 4  # a scheduled key signs for four weeks (28 days, within EPOCH_MAX_DAYS)


def timestamp(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def week_start(moment: int) -> int:
    """Monday 00:00 UTC of the week holding ``moment`` (seconds)."""
    return (moment - MONDAY_OFFSET) // WEEK * WEEK + MONDAY_OFFSET


def from_timestamp(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def iso(seconds: int) -> str:
    """A NumericDate as ISO 8601 UTC (any int: out-of-range values print as they are)."""
    try:
        return from_timestamp(seconds).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return str(seconds)


@dataclass(frozen=True)
class TrustedKey:
    """A certificate signing key as the trust list states it (public part only)."""

    public: bytes
    label: str
    not_before: int
    not_after: int

    @property
    def kid(self) -> bytes:
        return kid_of(self.public)

    @functools.cached_property
    def public_key_object(self) -> ec.EllipticCurvePublicKey:
        # Parsed once per key: a bulk verification would otherwise parse it for every certificate.
        return load_public(self.public)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.public_key_object

    def signs_at(self, moment: int) -> bool:
        return self.not_before <= moment <= self.not_after

    def to_cbor(self) -> dict[int, Any]:
        return {1: self.kid, 2: self.public, 3: self.label, 4: self.not_before, 5: self.not_after}

    def to_doc(self) -> dict[str, Any]:
        return {
            "kid": self.kid.hex(),
            "label": self.label,
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
        }


@dataclass(frozen=True)
class TrustList:
    network: str
    sequence: int
    issued_at: int
    root_public: bytes
    keys: tuple[TrustedKey, ...] = ()
    revoked_kids: frozenset[bytes] = frozenset()
    revoked_ctis: frozenset[bytes] = frozenset()
    _by_kid: dict[bytes, TrustedKey] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_kid.update({k.kid: k for k in self.keys})

    def key(self, kid: bytes) -> TrustedKey | None:
        return self._by_kid.get(kid)

    def payload(self) -> bytes:
        return cbor.dumps(
            {
                1: self.network,
                2: self.sequence,
                3: self.issued_at,
                4: [k.to_cbor() for k in sorted(self.keys, key=lambda k: (k.not_before, k.kid))],
                5: sorted(self.revoked_kids),
                6: sorted(self.revoked_ctis),
                7: self.root_public,
            }
        )

    def sign(self, root: ec.EllipticCurvePrivateKey) -> bytes:
        if public_bytes(root) != self.root_public:
            raise TrustError("This trust list names another root key than the one signing it.")
        protected = {cose.HEADER_ALG: cose.ES256, cose.HEADER_KID: kid_of(self.root_public)}
        return cose.encode_sign1(root, protected, self.payload())

    def next(self, now: int, **changes: Any) -> TrustList:
        """The following version: sequence + 1, issued now, with ``changes``."""
        return replace(self, sequence=self.sequence + 1, issued_at=now, **changes)

    def to_doc(self, now: int | None = None) -> dict[str, Any]:
        def status(k: TrustedKey) -> str:
            if k.kid in self.revoked_kids:
                return "revoked"
            if now is None:
                return "listed"
            return "signing" if k.signs_at(now) else ("future" if now < k.not_before else "retired")

        return {
            "network": self.network,
            "sequence": self.sequence,
            "issued_at": iso(self.issued_at),
            "root_fingerprint": fingerprint_of(self.root_public),
            "keys": [{**k.to_doc(), "status": status(k)} for k in self.keys],
            "revoked_keys": sorted(k.hex() for k in self.revoked_kids),
            "revoked_certificates": len(self.revoked_ctis),
        }


def fingerprint_of(public: bytes) -> str:
    from haven.certs.signing_keys import fingerprint

    return fingerprint(public)


def _bstr_list(value: Any, size: int) -> frozenset[bytes]:
    if not cbor.is_array(value) or not all(isinstance(v, bytes) and len(v) == size for v in value):
        raise TrustError("The trust list is malformed (a revocation list).")
    return frozenset(value)


def _key(value: Any) -> TrustedKey:
    if not isinstance(value, Mapping) or set(value) != {1, 2, 3, 4, 5}:
        raise TrustError("The trust list is malformed (a key entry).")
    public, label, nb, na = value[2], value[3], value[4], value[5]
    if not (isinstance(public, bytes) and isinstance(label, str) and isinstance(nb, int) and isinstance(na, int)):
        raise TrustError("The trust list is malformed (a key entry).")
    key = TrustedKey(public, label, nb, na)
    load_public(public)
    if key.kid != value[1]:
        raise TrustError("The trust list is malformed (a key id does not match its key).")
    if not 0 <= na - nb <= EPOCH_MAX_SECONDS:
        raise TrustError(f"The trust list has a key whose epoch is longer than {EPOCH_MAX_DAYS} days.")
    return key


def parse_trust_list(data: bytes, pinned_root: bytes | None) -> TrustList:
    """Verify a signed trust list and read it.

    ``pinned_root`` is the root public key this site already trusts; the list
    must name it and be signed by it. With ``None`` (first contact) the caller
    must have checked the root's fingerprint with a person.
    """
    try:
        signed = cose.decode_sign1(data, canonical=True, what="trust list")
        value = cbor.loads(signed.payload, "trust list", canonical=True)
    except HavenError as exc:
        raise TrustError(f"This is not a readable Haven trust list ({exc.message})") from None
    if not isinstance(value, Mapping) or set(value) != {1, 2, 3, 4, 5, 6, 7}:
        raise TrustError("This is not a Haven trust list.")
    root_public = value[7]
    if not isinstance(root_public, bytes):
        raise TrustError("The trust list has no root key.")
    if pinned_root is not None and root_public != pinned_root:
        raise TrustError("The trust list is signed for another network's root key than the one this site trusts.")
    try:
        cose.verify_signature(
            signed.header(cose.HEADER_ALG), load_public(root_public), signed.to_be_signed(), signed.signature, "haven"
        )
    except HavenError:
        raise TrustError(
            "The trust list's signature does not verify: it was altered or not signed by its root."
        ) from None
    network, sequence, issued_at = value[1], value[2], value[3]
    if not (isinstance(network, str) and isinstance(sequence, int) and isinstance(issued_at, int)):
        raise TrustError("The trust list is malformed (header).")
    if not cbor.is_array(value[4]):
        raise TrustError("The trust list is malformed (keys).")
    return TrustList(
        network=network,
        sequence=sequence,
        issued_at=issued_at,
        root_public=root_public,
        keys=tuple(_key(k) for k in value[4]),
        revoked_kids=_bstr_list(value[5], KID_BYTES),
        revoked_ctis=_bstr_list(value[6], 12),
    )


@dataclass(frozen=True)
class SigningKey:
    """An epoch key this site holds (private part), as listed in the trust list."""

    private: ec.EllipticCurvePrivateKey
    label: str
    not_before: int
    not_after: int

    @property
    def public(self) -> bytes:
        return public_bytes(self.private)

    @property
    def kid(self) -> bytes:
        return kid_of(self.public)

    def trusted(self) -> TrustedKey:
        return TrustedKey(self.public, self.label, self.not_before, self.not_after)

    def to_cbor(self) -> dict[int, Any]:
        return {1: private_der(self.private), 2: self.label, 3: self.not_before, 4: self.not_after}

    @classmethod
    def from_cbor(cls, value: Any) -> SigningKey:
        if not isinstance(value, Mapping) or set(value) != {1, 2, 3, 4}:
            raise TrustError("A stored signing key is malformed.")
        return cls(load_private_der(value[1]), value[2], value[3], value[4])


def make_signing_key(
    random_bytes: Callable[[int], bytes], label: str, start: int, days: int = EPOCH_MAX_DAYS
) -> SigningKey:
    """A new epoch key for ``label``: from the Monday of ``start``'s week, for ``days`` // 7 whole weeks
    (at least one; ``days`` is at most 31), so that neither end says when the key was made."""
    if not 1 <= days <= EPOCH_MAX_DAYS:
        raise TrustError(f"An epoch lasts 1 to {EPOCH_MAX_DAYS} days.")
    label = label.strip()
    if not label or len(label) > 40:
        raise TrustError("Give the key a programme or region label of 1 to 40 characters.")
    begin = week_start(start)
    return SigningKey(new_private_key(random_bytes), label, begin, begin + max(1, days // 7) * WEEK)


def encode_signing_keys(keys: Iterable[SigningKey]) -> bytes:
    return cbor.dumps([k.to_cbor() for k in keys])


def decode_signing_keys(data: bytes | None) -> list[SigningKey]:
    if not data:
        return []
    value = cbor.loads(data, "stored signing keys")
    if not cbor.is_array(value):
        raise TrustError("The stored signing keys are malformed.")
    return [SigningKey.from_cbor(v) for v in value]
