"""Network membership: each site's sync keys, and the roster the network's root signs.

A site makes its own **sync keys**: Ed25519 to sign its bundles, X25519 to receive bundles sealed
to it alone (HPKE). It hands their public halves to the root's coordinator in a **request**, signed
with the new signing key (so the request proves it holds it). The root signs a **roster**: every
member's public keys, the sites removed, and a **network key** (X25519) whose private half is
sealed to each member's encryption key (HPKE, with every earlier network key, so that a site
admitted later opens older bundles too), so that a bundle sealed to the network opens at every
member and nowhere else. Removing a site makes a new network key that the removed site never sees.

The roster is a COSE_Sign1 (ES256) over canonical CBOR, signed by the network's root key: the
same key, format and strict decoder as the trust list (haven/certs/trust.py), so a site checks it
against the root it already pins and nothing new is trusted. It is private to members: it travels
only inside bundles (sealed) or as a file between coordinators, never in the public trust list,
so a verifier does not learn how many clinics there are. Payload::

    {
      1: "haven/v1/roster",
      2: version,            ; uint, +1 at every change; an older roster is refused
      3: root_public,        ; bstr .size 65, the root's P-256 point (must be the pinned one)
      4: [* member],         ; member = {1: sign_public (32), 2: enc_public (32), 3: sealed network keys}
      5: [* sign_public],    ; removed members: their bundles are refused
      6: network_public,     ; bstr .size 32, X25519: bundles for the whole network are sealed to it
      7: key_version,        ; uint, the roster version that made the network key
      8: sealed counts key,  ; optional: the network counts public key, HPKE-sealed to the network key
    }

A site is named by its **site id**: the first 8 bytes of SHA-256 over its signing key, in hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from haven.certs import cbor, cose
from haven.certs.signing_keys import kid_of, load_public, public_bytes
from haven.errors import HavenError, InputError, NotAMemberError, RosterError

KEY_BYTES = 32
SITE_ID_BYTES = 8
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_ROSTER = "haven/v1/roster"
_REQUEST = "haven/v1/sync-request"
_NETWORK_KEY_INFO = b"haven/v1/network-key"
_COUNTS_KEY_INFO = b"haven/v1/counts-key"


def site_id(sign_public: bytes) -> str:
    return hashlib.sha256(b"haven/v1/site" + sign_public).digest()[:SITE_ID_BYTES].hex()


def _raw(key: ed25519.Ed25519PublicKey | x25519.X25519PublicKey) -> bytes:
    return key.public_bytes_raw()


@dataclass(frozen=True)
class Member:
    """A member site as the roster lists it (public keys only)."""

    sign_public: bytes
    enc_public: bytes

    @property
    def site_id(self) -> str:
        return site_id(self.sign_public)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.sign_public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def enc_key(self) -> x25519.X25519PublicKey:
        return x25519.X25519PublicKey.from_public_bytes(self.enc_public)


@dataclass(frozen=True)
class SiteKeys:
    """This site's private sync keys (stored wrapped under the admin key: haven/sync/service.py)."""

    signing: ed25519.Ed25519PrivateKey = field(repr=False)
    encryption: x25519.X25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, random_bytes: Callable[[int], bytes]) -> SiteKeys:
        return cls(
            ed25519.Ed25519PrivateKey.from_private_bytes(random_bytes(KEY_BYTES)),
            x25519.X25519PrivateKey.from_private_bytes(random_bytes(KEY_BYTES)),
        )

    def to_bytes(self) -> bytes:
        return bytes(
            cbor2.dumps({1: self.signing.private_bytes_raw(), 2: self.encryption.private_bytes_raw()}, canonical=True)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SiteKeys:
        doc = cbor2.loads(data)
        return cls(
            ed25519.Ed25519PrivateKey.from_private_bytes(doc[1]),
            x25519.X25519PrivateKey.from_private_bytes(doc[2]),
        )

    @property
    def member(self) -> Member:
        return Member(_raw(self.signing.public_key()), _raw(self.encryption.public_key()))

    def sign(self, message: bytes) -> bytes:
        return self.signing.sign(message)

    def request(self) -> bytes:
        """The file a coordinator hands the root's: this site's public keys, signed with the signing key."""
        payload = cbor.dumps({1: _REQUEST, 2: self.member.sign_public, 3: self.member.enc_public})
        return cbor.dumps([payload, self.sign(payload)])


def read_signed(data: bytes, what: str) -> tuple[bytes, bytes, Any] | None:
    """``[payload, signature]`` in canonical CBOR, with the payload decoded (canonical too); None if the
    bytes are not that (the caller says what they should have been)."""
    try:
        outer = cbor.loads(data, what, canonical=True)
        if not cbor.is_array(outer, 2) or not all(isinstance(v, bytes) for v in outer):
            return None
        return outer[0], outer[1], cbor.loads(outer[0], what, canonical=True)
    except HavenError:
        return None


def parse_request(data: bytes) -> Member:
    """A member's request, checked: well formed, and signed by the key it offers."""
    signed = read_signed(data, "membership request")
    value = None if signed is None else signed[2]
    if signed is None or not isinstance(value, Mapping) or set(value) != {1, 2, 3} or value[1] != _REQUEST:
        raise InputError("This is not a Haven membership request (haven sync request writes one).")
    sign_public, enc_public = value[2], value[3]
    if not (isinstance(sign_public, bytes) and isinstance(enc_public, bytes)) or {
        len(sign_public),
        len(enc_public),
    } != {KEY_BYTES}:
        raise InputError("This membership request is malformed (its keys).")
    member = Member(sign_public, enc_public)
    if not member.verify(signed[1], signed[0]):
        raise InputError("This membership request's signature does not verify: it was altered.")
    return member


@dataclass(frozen=True)
class Roster:
    version: int
    root_public: bytes
    members: tuple[Member, ...]
    removed: frozenset[bytes]
    network_public: bytes
    key_version: int
    sealed_keys: Mapping[bytes, bytes] = field(default_factory=dict, repr=False)  # sign_public -> sealed
    # The network counts public key (haven/sync/network_tallies.py), sealed to the network key: a hub,
    # which holds the roster, cannot read it (None: the network keeps no network counts).
    sealed_counts: bytes | None = field(default=None, repr=False)

    def member(self, sign_public: bytes) -> Member | None:
        return next((m for m in self.members if m.sign_public == sign_public), None)

    def by_site_id(self, wanted: str) -> Member:
        wanted = wanted.strip().lower()
        found = [m for m in self.members if m.site_id.startswith(wanted)] if len(wanted) >= 4 else []
        if len(found) != 1:
            raise NotAMemberError(f"No member site {wanted!r} in this network's roster (see haven sync roster show).")
        return found[0]

    def check_sender(self, sign_public: bytes) -> Member:
        """The member who signed, or :class:`NotAMemberError` (removed, or never admitted)."""
        if sign_public in self.removed:
            raise NotAMemberError(
                f"This bundle comes from site {site_id(sign_public)}, which was removed from the network; "
                "nothing was imported.",
                site=site_id(sign_public),
                removed=True,
            )
        member = self.member(sign_public)
        if member is None:
            raise NotAMemberError(
                f"This bundle comes from site {site_id(sign_public)}, which is not in this site's roster; "
                "nothing was imported (import a newer roster first).",
                site=site_id(sign_public),
                removed=False,
            )
        return member

    def network_key(self) -> x25519.X25519PublicKey:
        return x25519.X25519PublicKey.from_public_bytes(self.network_public)

    def open_network_keys(self, keys: SiteKeys) -> dict[int, x25519.X25519PrivateKey]:
        """Every network private key (by key version) as sealed to this site; empty if it is not a member."""
        sealed = self.sealed_keys.get(keys.member.sign_public)
        if sealed is None:
            return {}
        try:
            raw = cbor2.loads(SUITE.decrypt(sealed, keys.encryption, _NETWORK_KEY_INFO))
            return {int(v): x25519.X25519PrivateKey.from_private_bytes(k) for v, k in raw.items()}
        except Exception:
            raise RosterError("The network keys in this roster do not open with this site's keys.") from None

    def open_counts_key(self, network_keys: Mapping[int, x25519.X25519PrivateKey]) -> bytes | None:
        """The network counts public key, opened with the network key it is sealed to; None if there is none."""
        key = network_keys.get(self.key_version)
        if self.sealed_counts is None or key is None:
            return None
        try:
            return _bytes(SUITE.decrypt(self.sealed_counts, key, _COUNTS_KEY_INFO), KEY_BYTES)
        except Exception:
            raise RosterError("The network counts key in this roster does not open with the network key.") from None

    def payload(self) -> bytes:
        counts = {} if self.sealed_counts is None else {8: self.sealed_counts}
        return cbor.dumps(
            {
                1: _ROSTER,
                2: self.version,
                3: self.root_public,
                4: [
                    {1: m.sign_public, 2: m.enc_public, 3: self.sealed_keys[m.sign_public]}
                    for m in sorted(self.members, key=lambda m: m.sign_public)
                ],
                5: sorted(self.removed),
                6: self.network_public,
                7: self.key_version,
                **counts,
            }
        )

    def sign(self, root: ec.EllipticCurvePrivateKey) -> bytes:
        if public_bytes(root) != self.root_public:
            raise RosterError("This roster names another root key than the one signing it.")
        protected = {cose.HEADER_ALG: cose.ES256, cose.HEADER_KID: kid_of(self.root_public)}
        return cose.encode_sign1(root, protected, self.payload())

    def to_doc(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "members": sorted(m.site_id for m in self.members),
            "removed": sorted(site_id(s) for s in self.removed),
            "network_key_version": self.key_version,
            "network_counts": self.sealed_counts is not None,
        }


def seal_network_keys(keys: Mapping[int, x25519.X25519PrivateKey], members: Iterable[Member]) -> dict[bytes, bytes]:
    """Every network key so far, sealed to each member: a site admitted later still opens older bundles."""
    plain = cbor2.dumps({v: k.private_bytes_raw() for v, k in keys.items()}, canonical=True)
    return {m.sign_public: SUITE.encrypt(plain, m.enc_key(), _NETWORK_KEY_INFO) for m in members}


def new_roster(
    previous: Roster | None,
    root_public: bytes,
    members: Iterable[Member],
    removed: Iterable[bytes],
    network_keys: Mapping[int, x25519.X25519PrivateKey],
    counts_public: bytes | None = None,
) -> Roster:
    """The next roster (version + 1); bundles are sealed to the newest of ``network_keys``, all of
    which are sealed to each of ``members``; ``counts_public`` (the network counts key) is sealed to it too."""
    listed = tuple(sorted(members, key=lambda m: m.sign_public))
    key_version = max(network_keys)
    network_public = network_keys[key_version].public_key()
    sealed_counts = None if counts_public is None else SUITE.encrypt(counts_public, network_public, _COUNTS_KEY_INFO)
    return Roster(
        version=1 if previous is None else previous.version + 1,
        root_public=root_public,
        members=listed,
        removed=frozenset(removed),
        network_public=_raw(network_public),
        key_version=key_version,
        sealed_keys=seal_network_keys(network_keys, listed),
        sealed_counts=sealed_counts,
    )


def _bytes(value: Any, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise RosterError("The roster is malformed (a key).")
    return value


def parse_roster(data: bytes, pinned_root: bytes | None) -> Roster:
    """Verify a roster against the root this site pins, and read it."""
    if pinned_root is None:
        raise RosterError("This site trusts no network root yet: join a network first (haven trust join).")
    try:
        signed = cose.decode_sign1(data, canonical=True, what="roster")
        value = cbor.loads(signed.payload, "roster", canonical=True)
    except HavenError as exc:
        raise RosterError(f"This is not a readable Haven roster ({exc.message})") from None
    if not isinstance(value, Mapping) or set(value) - {8} != {1, 2, 3, 4, 5, 6, 7} or value[1] != _ROSTER:
        raise RosterError("This is not a Haven network roster.")
    if value[3] != pinned_root:
        raise RosterError("This roster is signed for another network's root than the one this site trusts.")
    try:
        cose.verify_signature(
            signed.header(cose.HEADER_ALG), load_public(pinned_root), signed.to_be_signed(), signed.signature, "haven"
        )
    except HavenError:
        raise RosterError("The roster's signature does not verify: it was altered or not signed by the root.") from None
    version, key_version = value[2], value[7]
    if not (isinstance(version, int) and isinstance(key_version, int) and version >= 1):
        raise RosterError("The roster is malformed (its version).")
    if not cbor.is_array(value[4]) or not cbor.is_array(value[5]):
        raise RosterError("The roster is malformed (its members).")
    members, sealed = [], {}
    for entry in value[4]:
        if not isinstance(entry, Mapping) or set(entry) != {1, 2, 3} or not isinstance(entry[3], bytes):
            raise RosterError("The roster is malformed (a member).")
        member = Member(_bytes(entry[1], KEY_BYTES), _bytes(entry[2], KEY_BYTES))
        members.append(member)
        sealed[member.sign_public] = entry[3]
    return Roster(
        version=version,
        root_public=pinned_root,
        members=tuple(members),
        removed=frozenset(_bytes(v, KEY_BYTES) for v in value[5]),
        network_public=_bytes(value[6], KEY_BYTES),
        key_version=key_version,
        sealed_keys=sealed,
        sealed_counts=_sealed_counts(value.get(8)),
    )


def _sealed_counts(value: Any) -> bytes | None:
    if value is not None and not (isinstance(value, bytes) and len(value) == KEY_BYTES * 2 + 16):
        raise RosterError("The roster is malformed (its counts key).")
    return value
