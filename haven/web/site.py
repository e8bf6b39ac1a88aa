"""The site a server serves: locked until a staff member signs in, through the site's key slots.

``haven serve`` starts **locked**: it holds no key, reads nothing of the
encrypted database, and serves only the public pages and the verifier. A staff
sign-in (name and passphrase) runs :meth:`haven.site.site.Site.unlock` (one
Argon2id run, duress; never the site's attempts file: the web limits guessing
in memory, :mod:`haven.web.state`): the first one opens the shared store that
every signed-in staff member then uses; later ones only identify their person
and close the store their unlock opened. A failed sign-in leaves the server as
it was.

* **Removed or reset.** Each staff request reads the person's key slot back
  (:meth:`Site.check`): removing them or resetting their passphrase, from any
  process, rewrites it and ends their session. Each member's own changes to the key slots are
  checked against their own slot (:meth:`as_staff`), so removing whoever signed in first leaves
  the others able to manage staff.
* **Own passphrase.** A member who changes their own passphrase on the web keeps the session
  that changed it (it takes the new slot bytes, :meth:`change_own_passphrase`); their other
  sessions still hold the old bytes and end, as after a reset.

* **Duress.** A duress passphrase erases the site and opens a new empty one
  (:mod:`haven.site.site`). The server sees the new session's master key differ
  from the one it holds, switches to the new store, and ends every other web
  session (the ``generation`` goes up): the person at the keyboard sees an
  empty-looking clinic, and nothing of the old one answers any more.
* **Erased elsewhere.** The database file is checked (device and inode) on
  every use: after ``haven panic`` or a duress unlock in another process, the
  server locks at the next request instead of serving the old, unlinked file.
* **Auto-lock.** When no staff request came for ``auto_lock_s`` seconds (and
  when the last signed-in person signs out), the store is closed and the
  server forgets the master key (Python cannot zero it: docs/threat-model.md).
* **Panic.** :meth:`Site.panic` erases the site's keys (no passphrase, no key
  derivation) and leaves the server locked with nothing to unlock.
* **Requests in flight.** Locking drops the shared store at once (new requests
  find the server locked) and closes it; the store itself refuses every
  operation begun after that (:class:`~haven.errors.StoreClosedError`, answered
  as signed out) and closes its connections when the operations already running
  end, so no request has its database closed under it.
* **The trust list while locked.** The signed, public trust list is kept in
  memory from the last unlock and served while locked (never written outside
  the encrypted database: a seized, stopped laptop names no network); a restart,
  duress, panic or an erase elsewhere forgets it.

Certificates are issued through :class:`~haven.app.certificates.CertificateIssuer` (the site's
own trust list and epoch keys by default: :class:`haven.app.certificates.SiteIssuer`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from haven.app import App
from haven.app.certificates import CertificateIssuer, SiteIssuer
from haven.app.clinic import Clinic
from haven.cert_services import TRUST_LIST
from haven.core.clock import utc_now
from haven.errors import AuthError, StoreClosedError, StoreError, WrongPassphraseError
from haven.site.keyslots import BOUND_HEADER_BYTES
from haven.site.rolekeys import RoleKeys
from haven.site.site import Site, UnlockedSite
from haven.site.staff import StaffMember
from haven.store.base import Store

BAD_CREDENTIALS = "That staff name and passphrase do not match."
DRAIN_S = 5.0  # how long a panic waits for the requests still reading the old store (each takes milliseconds)


def same_name(typed: str, name: str) -> bool:
    """Whether a typed staff name is the account's (Unicode-normalised, case-insensitive)."""

    def norm(text: str) -> str:
        return unicodedata.normalize("NFC", text).strip().casefold()

    return norm(typed) == norm(name)


def credentials_refused() -> AuthError:
    return AuthError(BAD_CREDENTIALS, reason="credentials")


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, to which generation of the site, and the key slot their passphrase opened."""

    staff: StaffMember
    generation: int
    slot: tuple[int, bytes] = field(repr=False)  # index and sealed bytes, as they were at sign-in


@dataclass
class WebSite:
    """One site folder as a running server sees it: locked, or unlocked for its signed-in staff."""

    keys: Site
    certificates: CertificateIssuer | None = None  # None: the site's own trust list and epoch keys
    auto_lock_s: float = 30 * 60  # create_app sets it from WebSettings.auto_lock_s
    today: Callable[[], dt.date] | None = None  # default: the UTC date of ``now()``
    now: Callable[[], dt.datetime] = utc_now
    clock: Callable[[], float] = time.monotonic
    random_bytes: Callable[[int], bytes] = secrets.token_bytes
    generation: int = field(default=0, init=False)
    last_active: float = field(default=0.0, init=False)
    _shared: UnlockedSite | None = field(default=None, init=False, repr=False)
    _member_keys: dict[bytes, RoleKeys] = field(default_factory=dict, init=False, repr=False)
    _member_slots: dict[bytes, tuple[int, bytes]] = field(default_factory=dict, init=False, repr=False)
    _member_secrets: dict[bytes, bytes] = field(default_factory=dict, init=False, repr=False)  # their member keys
    _db_id: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _open_site: bytes | None = field(default=None, init=False, repr=False)  # the open site's _site_id()
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _on_lock: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)
    _on_sign_in: list[Callable[[UnlockedSite, RoleKeys], None]] = field(default_factory=list, init=False, repr=False)
    # The public trust list as the store last held it, and the key slot header (salt) of that site.
    _public_trust: tuple[bytes, bytes | None] | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------ state

    @property
    def locked(self) -> bool:
        with self._lock:
            self._check_files()
            return self._shared is None

    def on_lock(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever every web session must end (lock, duress, panic)."""
        self._on_lock.append(listener)

    def on_sign_in(self, listener: Callable[[UnlockedSite, RoleKeys], None]) -> None:
        """Call ``listener(site, keys)`` after each staff sign-in: the shared site, the member's role keys."""
        self._on_sign_in.append(listener)

    def date_today(self) -> dt.date:
        return self.today() if self.today is not None else self.now().date()

    # ------------------------------------------------------------ signing in

    def sign_in(self, name: str, passphrase: str) -> SignedIn:
        """The staff member whose name and passphrase these are, and the generation they signed in to.

        The passphrase is checked through the key slots without the site's attempts file
        (``counted=False``): no backoff that staff at the keyboard would then wait out, no
        erase-after; the web app limits guessing in its own memory. A wrong passphrase and a right
        passphrase under another account's name answer alike (:class:`AuthError`, reason
        ``credentials``) and leave the server as it was: still locked, or with the store it had.
        """
        try:
            session = self.keys.unlock(passphrase, counted=False, before_erase=self._before_erase)
        except WrongPassphraseError:
            raise credentials_refused() from None
        if not same_name(name, session.staff.name):
            session.close()
            with self._lock:
                self._check_files()  # a duress passphrase under another name erased the site all the same
            raise credentials_refused()
        with self._lock:
            member = session.staff
            slot = (session.own_slot, session.own_slot_bytes)
            keys = session.keys  # what this member's own slot opened, kept for their requests
            member_key = session.member_key  # their own day's key, and what their slot holds
            self._adopt(session)
            self._member_keys[member.id] = keys
            self._member_slots[member.id] = slot
            self._member_secrets[member.id] = member_key
            self.last_active = self.clock()
            shared = self._shared  # set by _adopt just above
            if shared is not None:
                for listener in self._on_sign_in:
                    listener(shared, keys)
            return SignedIn(member, self.generation, slot)

    def _before_erase(self) -> None:
        """A duress passphrase is about to erase the site: lock now and let the reads in flight end (as
        :meth:`panic` does), so none of them reads, or plays back a journal into, the files of the
        site built in its place."""
        with self._lock:
            shared = self._shared
            try:
                self._close()
                if shared is not None:
                    shared.store.wait_closed(DRAIN_S)
            finally:
                self._public_trust = None

    def _adopt(self, session: UnlockedSite) -> None:
        """Keep ``session``'s store as the shared one, or close it; switch if the site was rebuilt."""
        shared = self._shared
        if shared is not None and shared.same_key(session):
            session.close()  # this sign-in only identifies its person
            return
        if shared is not None:  # duress (here or elsewhere) rebuilt the site: the old store is dead
            self._end_sessions()
            shared.close()
        self._shared = session
        self._db_id = self._file_id()
        self._open_site = self._site_id()
        self._keep_trust_list(session.store.get_setting(TRUST_LIST))

    def _keep_trust_list(self, body: bytes | None) -> None:
        self._public_trust = None if body is None else (body, self._site_id())

    def _site_id(self) -> bytes | None:
        """The key slot file's bound header (KDF parameters and salt): every erase, panic or duress
        writes a new salt, so a different value means the site the kept list came from is gone."""
        try:
            with open(self.keys.slots_file.path, "rb") as f:
                return f.read(BOUND_HEADER_BYTES)
        except OSError:
            return None

    # ------------------------------------------------------------ each staff request

    def check(self, generation: int, slot: tuple[int, bytes] | None, touch: bool = True) -> bool:
        """Whether a web session signed in to ``generation`` with key ``slot`` may still act; with
        ``touch``, marks the site in use.

        The slot is read back from the key slot file each time (one small read): removing the
        account or resetting its passphrase, here or from a terminal, rewrites it, and the session
        ends at its next request.
        """
        with self._lock:
            self._check_files()
            if self._shared is not None and self.clock() - self.last_active > self.auto_lock_s:
                self._close()
            if self._shared is None or generation != self.generation:
                return False
        if slot is None or not self._holds(slot):
            return False
        if touch:
            with self._lock:
                self.last_active = self.clock()
        return True

    def _holds(self, slot: tuple[int, bytes]) -> bool:
        index, sealed = slot
        now = self.keys.slots_file.read_slot(index)
        return now is not None and hmac.compare_digest(now, sealed)

    def auto_lock(self) -> bool:
        """Lock if no staff request came for ``auto_lock_s``; True if it locked now."""
        with self._lock:
            if self._shared is not None and self.clock() - self.last_active > self.auto_lock_s:
                self._close()
                return True
            return False

    def lock(self) -> None:
        """Close the shared store and forget the master key; every web session ends."""
        with self._lock:
            self._close()

    def panic(self) -> None:
        """Erase the site's keys now (no passphrase, no key derivation); the server stays locked.

        The server locks first, so no request begins on the old store, and the erase waits (briefly)
        for the operations already running on it: none of them then writes into the fresh site's files.
        """
        with self._lock:
            try:
                self._before_erase()
                self.keys.panic()
            finally:
                self._public_trust = None

    def _close(self) -> None:
        shared, self._shared, self._db_id = self._shared, None, None
        self._end_sessions()
        if shared is not None:
            shared.close()

    def _end_sessions(self) -> None:
        self.generation += 1
        self._member_keys.clear()
        self._member_slots.clear()
        self._member_secrets.clear()
        for listener in self._on_lock:
            listener()

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.keys.folder.db_path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def lock_if_erased(self) -> bool:
        """After a store error: lock if the site was erased from a terminal (panic, duress) while the
        request ran, its files gone from under it; whether the server is locked now."""
        with self._lock:
            self._check_files()
            if self._shared is not None and self._site_id() != self._open_site:
                self._close()
            return self._shared is None

    def _check_files(self) -> None:
        """Lock if the database this server has open was removed or replaced by another process."""
        if self._shared is not None and self._file_id() != self._db_id:
            self._close()

    # ------------------------------------------------------------ what requests use

    def _session(self) -> UnlockedSite:
        with self._lock:
            self._check_files()
            if self._shared is None:
                raise AuthError()
            return self._shared

    @property
    def store(self) -> Store:
        """The shared store; :class:`AuthError` while the server is locked."""
        return self._session().store

    def as_staff(self, member: StaffMember) -> UnlockedSite:
        """The unlocked site acting as ``member`` (for ``require``, the audit log and their role keys)."""
        keys = self._member_keys.get(member.id, RoleKeys())
        slot, member_key = self._member_slots.get(member.id), self._member_secrets.get(member.id, b"")
        return self._session().as_staff(member, keys, slot, member_key)

    def app(self, member: StaffMember) -> App:
        """The application acting as ``member``, on this server's clock and randomness: every page
        and API call goes through it, so each checks its permission and writes its audit entry."""
        return App(self.as_staff(member), now=self.now, today=self.date_today, random_bytes=self.random_bytes)

    def change_own_passphrase(
        self, member: StaffMember, new: str, *, duress: str | None = None, clear_duress: bool = False
    ) -> tuple[int, bytes]:
        """``member``'s own passphrase (and duress passphrase), through the use case ``haven staff passwd``
        runs; their key slot as it is now, for the session that changed it to keep. Every other session
        of theirs holds the old bytes, so it ends at its next request (:meth:`check`)."""
        app = self.app(member)
        app.staff.change_passphrase(new, duress=duress, clear_duress=clear_duress)
        slot = (app.site.own_slot, app.site.own_slot_bytes)
        with self._lock:
            if member.id in self._member_slots:  # not if the site locked meanwhile
                self._member_slots[member.id] = slot
        return slot

    def clinic(self) -> Clinic:
        """Visits: their counters sealed to the coordinators (haven/site/tallies.py)."""
        return self._session().clinic(today=self.date_today, random_bytes=self.random_bytes)

    def trust_list(self) -> bytes | None:
        """The signed trust list the verifier caches: the store's while unlocked; while locked, the one
        the store held when last open, unless the site was erased since (a new salt: panic or duress,
        here or from a terminal); None when there is none (not opened since this process started, or
        the site has none). Locked or not, the same answer: it does not tell which."""
        with self._lock:
            self._check_files()
            if self._shared is not None:
                try:
                    self._keep_trust_list(self._shared.store.get_setting(TRUST_LIST))
                except StoreClosedError:  # locked while this request ran: the kept list
                    pass
                except StoreError:
                    if not self.lock_if_erased():
                        raise  # still the same site: a real fault of its database
            if self._shared is None and self._public_trust is not None and self._public_trust[1] != self._site_id():
                self._public_trust = None
            return None if self._public_trust is None else self._public_trust[0]

    def issuer(self, member: StaffMember) -> CertificateIssuer:
        """What signs ``member``'s certificates: the one given (tests), else the site's own keys."""
        return self.certificates if self.certificates is not None else SiteIssuer(self.app(member))
