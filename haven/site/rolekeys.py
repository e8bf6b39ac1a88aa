"""Keys by role: what a staff passphrase can decrypt is what that role may see.

Every key slot unwraps the site master key (it opens the SQLCipher database), so
anything stored in the database in the clear is readable with any passphrase.
What only some roles may see is therefore wrapped again, under keys that only
their slots lead to:

* the **issuing key** wraps the epoch signing keys (``certs/signing-keys``):
  staff who may issue certificates hold it;
* the **admin key** wraps the root key (``certs/root-key``), the issuing key
  (``keys/issuing``, so a coordinator can hand it to a new clinician), the
  private half of the audit key pair (``keys/audit-private``) and every staff
  record (names, roles): coordinators hold it.
* the audit key pair's public half (``keys/audit-public``) is in the clear:
  everyone writes audit entries, only coordinators read them.

A key slot holds a random **member key**; the member's own record
(``keys/member/<id>``: their name, their slot pair and the role keys they may
hold) is wrapped under it. Wrapping is AES-256-GCM with a random nonce and a
purpose-bound associated data, so a blob cannot be moved to another purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven.errors import PermissionDeniedError, SiteError
from haven.site.roles import Permission, Role, allowed

KEY_BYTES = 32
NONCE_BYTES = 12
ISSUING = "keys/issuing"
AUDIT_PUBLIC = "keys/audit-public"
AUDIT_PRIVATE = "keys/audit-private"
MEMBER_PREFIX = "keys/member/"
_AAD = b"haven/v1/wrap/"


def wrap(key: bytes, purpose: str, plain: bytes, random_bytes: Callable[[int], bytes]) -> bytes:
    nonce = random_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, _AAD + purpose.encode())


def unwrap(key: bytes, purpose: str, blob: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _AAD + purpose.encode())
    except (InvalidTag, ValueError):
        raise SiteError(f"A wrapped key of this site ({purpose}) is damaged or belongs to another site.") from None


def member_setting(staff_id: bytes) -> str:
    return MEMBER_PREFIX + staff_id.hex()


@dataclass(frozen=True)
class RoleKeys:
    """The role keys one staff member holds (None where their roles give none)."""

    issuing: bytes | None = field(default=None, repr=False)
    admin: bytes | None = field(default=None, repr=False)

    @classmethod
    def generate(cls, random_bytes: Callable[[int], bytes]) -> RoleKeys:
        return cls(random_bytes(KEY_BYTES), random_bytes(KEY_BYTES))

    def for_roles(self, roles: Role) -> RoleKeys:
        """The part of these keys that ``roles`` may hold."""
        return RoleKeys(
            self.issuing if allowed(roles, Permission.CERTIFICATE_ISSUE) else None,
            self.admin if allowed(roles, Permission.STAFF_MANAGE) else None,
        )

    def require_admin(self) -> bytes:
        if self.admin is None:
            raise PermissionDeniedError(
                "Only a coordinator's passphrase opens this (the staff list, the audit log, the root key).",
                permission=Permission.STAFF_MANAGE.value,
            )
        return self.admin


NO_KEYS = RoleKeys()


def install(put: Callable[[str, bytes], None], keys: RoleKeys, random_bytes: Callable[[int], bytes]) -> None:
    """Store a new site's wrapped issuing key and its audit key pair (``put(name, value)`` writes a setting)."""
    admin = keys.require_admin()
    assert keys.issuing is not None
    private = x25519.X25519PrivateKey.from_private_bytes(random_bytes(KEY_BYTES))
    put(ISSUING, wrap(admin, ISSUING, keys.issuing, random_bytes))
    put(AUDIT_PRIVATE, wrap(admin, AUDIT_PRIVATE, private.private_bytes_raw(), random_bytes))
    put(AUDIT_PUBLIC, private.public_key().public_bytes_raw())


def issuing_key(keys: RoleKeys, get: Callable[[str], bytes | None]) -> bytes | None:
    """The issuing key these role keys lead to: held directly, or unwrapped with the admin key."""
    if keys.issuing is not None:
        return keys.issuing
    blob = get(ISSUING)
    if keys.admin is None or not blob:
        return None
    return unwrap(keys.admin, ISSUING, blob)


def audit_private(keys: RoleKeys, get: Callable[[str], bytes | None]) -> x25519.X25519PrivateKey:
    blob = get(AUDIT_PRIVATE)
    if not blob:
        raise SiteError("This site has no audit key.")
    return x25519.X25519PrivateKey.from_private_bytes(unwrap(keys.require_admin(), AUDIT_PRIVATE, blob))


@dataclass(frozen=True)
class MemberRecord:
    """What one member's slot leads to: who they are, their slot pair, and their role keys."""

    name: str
    slots: tuple[int, int]
    added: str
    keys: RoleKeys = RoleKeys()

    def seal(self, member_key: bytes, staff_id: bytes, random_bytes: Callable[[int], bytes]) -> bytes:
        doc: dict[int, Any] = {1: self.name, 2: list(self.slots), 3: self.added}
        if self.keys.issuing is not None:
            doc[4] = self.keys.issuing
        if self.keys.admin is not None:
            doc[5] = self.keys.admin
        return wrap(member_key, member_setting(staff_id), cbor2.dumps(doc, canonical=True), random_bytes)

    @classmethod
    def open(cls, member_key: bytes, staff_id: bytes, blob: bytes) -> MemberRecord:
        doc = cbor2.loads(unwrap(member_key, member_setting(staff_id), blob))
        a, b = doc[2]
        return cls(str(doc[1]), (int(a), int(b)), str(doc[3]), RoleKeys(doc.get(4), doc.get(5)))
