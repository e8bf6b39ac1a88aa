"""Staff sign-in: the seam to the site's staff accounts, and the role matrix.

The web app needs one thing from the site's accounts: ``sign_in(name,
passphrase) -> Staff``, raising :class:`~haven.errors.AuthError` when they do
not match. The site-security work (key slots unwrapped by each staff member's
passphrase) implements :class:`StaffDirectory`; until then,
:class:`MemoryStaffDirectory` (Argon2id-hashed passphrases held in memory)
serves tests and ``haven serve --demo``.

>>> staff = MemoryStaffDirectory(fast=True)
>>> _ = staff.add("nurse", Role.CLINICIAN, "copper lantern meadow violet anchor")
>>> staff.sign_in("nurse", "copper lantern meadow violet anchor").role
<Role.CLINICIAN: 'clinician'>
"""

from __future__ import annotations

import enum
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from haven.errors import AuthError


class Role(enum.StrEnum):
    REGISTRAR = "registrar"
    CLINICIAN = "clinician"
    COORDINATOR = "coordinator"


class Permission(enum.StrEnum):
    """What a route needs. Each staff route depends on exactly one permission (docs/web.md#roles)."""

    CARDS = "cards"  # open, create, print and close cards; record visits
    HOLDER_RECORDS = "holder-records"  # read a holder's history; issue certificates
    COUNTS = "counts"  # anonymous counts (no holder data)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REGISTRAR: frozenset({Permission.CARDS}),
    Role.CLINICIAN: frozenset({Permission.CARDS, Permission.HOLDER_RECORDS}),
    Role.COORDINATOR: frozenset({Permission.COUNTS}),
}


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member. ``id`` is stable per account; ``name`` is what they sign in with."""

    id: str
    name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


class StaffDirectory(Protocol):
    """The site's staff accounts, as the web app sees them."""

    def sign_in(self, name: str, passphrase: str) -> Staff:
        """The staff member whose name and passphrase these are; :class:`AuthError` otherwise.

        A wrong name and a wrong passphrase must be indistinguishable (message and time).
        """
        ...


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


class MemoryStaffDirectory:
    """Staff accounts held in memory, passphrases hashed with Argon2id (tests and the demo).

    ``fast`` uses cheap Argon2id parameters for tests; otherwise argon2-cffi's
    defaults (RFC 9106 low-memory profile). Real sites use the site's key slots.
    """

    def __init__(self, fast: bool = False) -> None:
        if fast:
            self._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        else:
            self._hasher = PasswordHasher()
        self._accounts: dict[str, tuple[str, Staff]] = {}
        self._lock = threading.Lock()
        # Verified against when the name is unknown, so both failures cost the same time.
        self._decoy = self._hasher.hash(secrets.token_hex(16))

    def add(self, name: str, role: Role, passphrase: str) -> Staff:
        name = _norm(name)
        staff = Staff(id=secrets.token_hex(8), name=name, role=Role(role))
        with self._lock:
            self._accounts[name.casefold()] = (self._hasher.hash(_norm(passphrase)), staff)
        return staff

    def sign_in(self, name: str, passphrase: str) -> Staff:
        with self._lock:
            account = self._accounts.get(_norm(name).casefold())
        stored, staff = account if account else (self._decoy, None)
        try:
            self._hasher.verify(stored, _norm(passphrase))
        except VerificationError:
            staff = None
        if staff is None:
            raise AuthError("That staff name and passphrase do not match.", reason="credentials")
        return staff


def demo_passphrase(words: int = 5) -> str:
    """Five random words from the English card word list (what site passphrases look like)."""
    from haven.core.card import _wordlist

    wordlist = _wordlist("en")
    return " ".join(secrets.choice(wordlist) for _ in range(words))
