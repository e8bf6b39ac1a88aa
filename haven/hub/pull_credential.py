"""A pull-only hub credential: what lets every role's visit pull first, and nothing more.

The site's sync signing key signs bundles and hub pushes, and only coordinators hold it. A registrar or
clinician recording a visit must still pull first (haven/hub/pull.py), so the site's coordinator issues
a second Ed25519 key for pulls only: its public half **certified** by the sync signing key (a signature
over ``"haven/v1/pull-key" || sign_public || pull_public``), the pair stored in the clear in the site's
database (``sync/pull-key``), which every staff passphrase opens. A request signed with it carries the
member's key, the pull key and the certificate; the hub checks the member against its roster (a removed
site's credential dies with it), the certificate, then the request's signature, and answers only the
reading operations: never a merge (a push), and nothing changes a roster over the wire.

Why this is safe to hand every role: a seized site with any passphrase can then pull from the hub, until
the site is removed from the roster. Every site already holds every row (full replication), ciphertext
under holders' cards; what a pull brings is more of the same, which the thief cannot open without the
cards, and the hub learns no more than from any pull. It cannot push (no rows planted), sign a bundle, or
read the roster (those need the sync keys, wrapped under the admin key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives.asymmetric import ed25519

from haven.hub import wire
from haven.store.base import Store
from haven.sync.roster import KEY_BYTES, Member, SiteKeys

SETTING = "sync/pull-key"
CERTIFICATE_LABEL = b"haven/v1/pull-key"
PULL_KEY_HEADER = "haven-pull-key"
CERTIFICATE_HEADER = "haven-pull-certificate"


def _certified(member: bytes, pull_public: bytes) -> bytes:
    return CERTIFICATE_LABEL + member + pull_public


@dataclass(frozen=True)
class PullCredential:
    """A pull-only key, certified by a member's sync signing key; signs requests as :class:`wire.Signer` does."""

    key: ed25519.Ed25519PrivateKey = field(repr=False)
    member: bytes  # the member's sign_public
    certificate: bytes = field(repr=False)

    @classmethod
    def issue(cls, site: SiteKeys, random_bytes: Callable[[int], bytes]) -> PullCredential:
        key = ed25519.Ed25519PrivateKey.from_private_bytes(random_bytes(KEY_BYTES))
        member = site.member.sign_public
        return cls(key, member, site.sign(_certified(member, key.public_key().public_bytes_raw())))

    def to_bytes(self) -> bytes:
        doc = {1: self.key.private_bytes_raw(), 2: self.member, 3: self.certificate}
        return bytes(cbor2.dumps(doc, canonical=True))

    @classmethod
    def from_bytes(cls, data: bytes) -> PullCredential:
        doc = cbor2.loads(data)
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(doc[1]), doc[2], doc[3])

    def headers(self, method: str, path: str, time: int, nonce: bytes, body: bytes) -> dict[str, str]:
        headers = wire.Signer(self.key).headers(method, path, time, nonce, body)
        return {
            **headers,
            wire.MEMBER_HEADER: self.member.hex(),
            PULL_KEY_HEADER: self.key.public_key().public_bytes_raw().hex(),
            CERTIFICATE_HEADER: self.certificate.hex(),
        }


def pull_signer(member: Member, pull_key: bytes, certificate: bytes) -> Member | None:
    """The key a pull-only request is signed with, as a :class:`Member` to verify with; None unless
    ``member`` certified it."""
    if len(pull_key) != KEY_BYTES or not member.verify(certificate, _certified(member.sign_public, pull_key)):
        return None
    return Member(pull_key, member.enc_public)


def stored(store: Store) -> PullCredential | None:
    data = store.get_setting(SETTING)
    return None if data is None else PullCredential.from_bytes(data)


def store_new(store: Store, site: SiteKeys, random_bytes: Callable[[int], bytes]) -> PullCredential:
    """Issue a new credential and keep it (inside the caller's transaction); the last one is forgotten."""
    credential = PullCredential.issue(site, random_bytes)
    store.put_setting(SETTING, credential.to_bytes())
    return credential
