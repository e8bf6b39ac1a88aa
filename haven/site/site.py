"""Creating, unlocking, erasing a site; and what an unlocked session may do.

Unlocking (:meth:`Site.unlock`) runs the same steps for every passphrase:

1. under the attempts lock, count the attempt as failed before trying and wait
   out the backoff (:mod:`haven.site.attempts`);
2. one Argon2id derivation with the site's parameters, then trial-decrypt
   every key slot (:mod:`haven.site.keyslots`);
3. then one of three endings:

   * a key slot opened: reset the counter, open the database with the master
     key, find the staff member (and put back an edited erase limit);
   * a duress slot opened: overwrite every slot and the salt with random bytes
     (fsync), remove every file of the site, and build what ``haven init`` by
     this person would (the same function: new files, salt and master key, one
     account with every role), and open that: the person at the keyboard sees a
     working, empty site, and no passphrase opens the old data again;
   * nothing opened: keep the failure counted (and erase the site if the
     configured limit is reached), then raise :class:`WrongPassphraseError`;

4. every ending is padded to end :attr:`SecuritySettings.settle_seconds`
   after the derivation finished, so the three cannot be told apart by time.

:meth:`Site.panic` erases like a duress passphrase but needs none and does no
key derivation (a fraction of a second), and leaves a new site nobody can open.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hmac
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from haven.app.actions import Action
from haven.app.clinic import Clinic
from haven.cert_services import Certificates
from haven.core.clock import utc_now
from haven.core.keys import hkdf
from haven.errors import InputError, LockedOutError, SiteError, StoreFullError, WrongPassphraseError
from haven.site import daycount, legacy, tallies
from haven.site import passphrase as pp
from haven.site import staff as staff_rows
from haven.site.attempts import AttemptCounter, delay_for
from haven.site.audit import AuditLog
from haven.site.audit import append as append_audit
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.kdf import (
    MIN_MEMORY_KIB,
    SALT_BYTES,
    Calibration,
    KdfParams,
    default_parallelism,
    params_for_new_site,
)
from haven.site.keyslots import (
    MASTER_KEY_BYTES,
    MAX_ERASE_AFTER,
    MEMBER_KEY_BYTES,
    SLOTS,
    STAFF_ID_BYTES,
    Header,
    KeySlotFile,
    SlotContent,
    SlotKey,
    SlotKind,
    new_salt,
    random_slots,
)
from haven.site.rolekeys import NO_KEYS, MemberRecord, RoleKeys, audit_private, install, issuing_key, member_setting
from haven.site.roles import ALL_ROLES, Permission, Role, require
from haven.site.staff import StaffMember, StaffTable, check_name, day
from haven.store.base import Store
from haven.sync.network_tallies import NetworkSealer

PANIC_LOCK_WAIT_SECONDS = 0.5
ERASE_AFTER_SETTING = "site.erase_after"  # the header's limit, kept where only a passphrase can change it
ERASED_ADMIN_NAME = "admin"  # the account of the site panic leaves: nobody holds its key


@contextlib.contextmanager
def file_errors() -> Iterator[None]:
    """Turn a failing write of the key slot or attempts file into Haven's errors."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StoreFullError("The disk is full; nothing of this change was saved. Free some space.") from None
        raise SiteError(f"The site's files cannot be used: {exc.strerror} ({exc.filename}).") from None


def add_member(
    store: Store, member: StaffMember, keys: RoleKeys, random_bytes: Callable[[int], bytes]
) -> tuple[bytes, RoleKeys]:
    """Store ``member`` (sealed under the admin key of ``keys``) and their own record, with the role keys
    their roles may hold, in one transaction (the caller's, if open); return the member key their key slot
    must carry, and those role keys."""
    member_key = random_bytes(MEMBER_KEY_BYTES)
    theirs = keys.for_roles(member.roles)
    record = MemberRecord(member.name, member.slots, member.added, theirs)
    with store.transaction():
        staff_rows.insert(store, member, keys.require_admin(), random_bytes)
        store.put_setting(member_setting(member.id), record.seal(member_key, member.id, random_bytes))
    return member_key, theirs


def build_site(
    store: Store, member: StaffMember, now: dt.datetime, random_bytes: Callable[[int], bytes]
) -> tuple[bytes, RoleKeys]:
    """Fill a new, empty database as ``haven init`` leaves it: new role keys, the one staff member,
    an audit log that begins with ``site.init``. No trust list and no signing key: a site issues no
    certificate until it joins a network or chooses standalone issuing (``haven trust standalone``).

    Returns the member key for the member's key slot, and the role keys they hold.
    """
    keys = RoleKeys.generate(random_bytes)
    with store.transaction():
        install(store.put_setting, keys, random_bytes)
        member_key, theirs = add_member(store, member, keys, random_bytes)
        append_audit(store, member.id, Action.SITE_INIT, 1, now)
    return member_key, theirs


@dataclass
class Site:
    """One site folder and the policy for opening it. Clock, sleep and randomness are injected."""

    folder: SiteFolder
    settings: SecuritySettings = field(default_factory=SecuritySettings.from_env)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = utc_now
    random_bytes: Callable[[int], bytes] = secrets.token_bytes
    settle: float | None = None  # default: the profile's settle time

    @property
    def slots_file(self) -> KeySlotFile:
        return KeySlotFile(self.folder.keyslots_path)

    @property
    def attempts(self) -> AttemptCounter:
        return AttemptCounter(self.folder.attempts_path)

    @property
    def settle_seconds(self) -> float:
        return self.settings.settle_seconds if self.settle is None else self.settle

    def _random_pair(self, free: list[int]) -> tuple[int, int]:
        first = free[secrets.randbelow(len(free))]
        rest = [i for i in free if i != first]
        second = rest[secrets.randbelow(len(rest))]
        return (min(first, second), max(first, second))

    # ------------------------------------------------------------ create

    def create(
        self,
        admin: str,
        passphrase: str,
        *,
        roles: Role = ALL_ROLES,
        duress: str | None = None,
        calibration: Calibration | None = None,
        erase_after: int = 0,
    ) -> UnlockedSite:
        """A new site with one staff member (``admin``), unlocked for them.

        Either everything is written or nothing is left behind.
        """
        if self.folder.exists():
            raise SiteError(f"A Haven site already exists in {self.folder.home}.")
        name = check_name(admin)
        text = pp.check(passphrase, (name,))
        duress_text = None if duress is None else pp.check(duress, (name,))
        if duress_text is not None and duress_text == text:
            raise InputError("The duress passphrase must differ from the passphrase.", problem="duress-same")
        if not 0 <= erase_after <= MAX_ERASE_AFTER:
            raise InputError("--erase-after is a number of wrong passphrases from 3 to 10000, or 0 for never.")
        calibration = calibration or params_for_new_site(self.settings.kdf_profile)
        header = Header(calibration.params, new_salt(self.random_bytes), erase_after)
        key = SlotKey(header.params.derive(text.encode(), header.salt))
        duress_key = None if duress_text is None else DuressKey.derive(header, duress_text, self.random_bytes)
        with file_errors():
            return self._write_new(header, name, roles, key, duress_key, self.now())

    def _write_new(
        self, header: Header, name: str, roles: Role, key: SlotKey, duress: DuressKey | None, now: dt.datetime
    ) -> UnlockedSite:
        """Write a whole new site: what ``haven init`` makes, and what duress and panic leave behind.

        One function for all three, so a rebuilt site cannot differ from a fresh one.
        """
        master = self.random_bytes(MASTER_KEY_BYTES)
        member = StaffMember(
            self.random_bytes(STAFF_ID_BYTES), name, roles, self._random_pair(list(range(SLOTS))), day(now)
        )
        key_index, other_index = _split(member.slots)
        slots = random_slots(self.random_bytes)
        if duress is not None:
            slots[other_index] = duress.seal(header, other_index, roles, name, self.random_bytes)
        made_home = self.folder.make_home()
        store: Store | None = None
        try:
            store = self.folder.create(master)
            member_key, keys = build_site(store, member, now, self.random_bytes)
            store.put_setting(ERASE_AFTER_SETTING, header.erase_after.to_bytes(4, "big"))
            content = SlotContent(SlotKind.KEY, member.roles, member.id, master, member_key=member_key)
            slots[key_index] = key.seal(header, key_index, content, self.random_bytes)
            self.slots_file.create(header, slots)
            self.attempts.create()
        except BaseException:
            if store is not None:
                store.close()
            self.folder.remove_files()
            if made_home:
                with contextlib.suppress(OSError):
                    self.folder.home.rmdir()
            raise
        return UnlockedSite(self, store, member, header, key_index, slots[key_index], master, keys, member_key)

    # ------------------------------------------------------------ unlock

    def check_present(self) -> None:
        if not self.folder.keyslots_path.exists():
            if self.folder.db_path.exists():
                raise SiteError(
                    f"The site in {self.folder.home} has a database but no key slot file: it was made by an "
                    "older Haven, or its key slots were deleted. Its data cannot be opened."
                )
            raise SiteError(f"There is no Haven site in {self.folder.home}. Run 'haven init' first (or set --home).")

    def failures(self) -> int:
        return self.attempts.read()

    def unlock(
        self,
        passphrase: str,
        *,
        wait: bool = True,
        on_wait: Callable[[float, int], None] | None = None,
        counted: bool = True,
        before_erase: Callable[[], None] | None = None,
    ) -> UnlockedSite:
        """Open the site with a staff passphrase (see the module docstring for every path).

        ``counted=False`` is for passphrases not typed at this machine (the web sign-in, which
        limits guessing in its own memory): no attempt is counted or reset, there is no backoff and
        no erase-after, so strangers on the network can neither wipe the site nor make the keyboard
        wait (a duress passphrase still leaves the counter at 0, as on any new site). The endings
        are padded alike all the same.

        ``before_erase`` runs just before a duress passphrase erases the site (holding the key slot
        lock): a server closes its open store there, so none of its readers touches the files of
        the site built in its place.
        """
        self.check_present()
        secret = pp.to_bytes(passphrase)
        self.slots_file.read()  # a damaged header is an error now, not a failed attempt (nor a hang)
        with file_errors(), self.attempts.locked() if counted else contextlib.nullcontext():
            failures = self.attempts.read() if counted else 0
            delay = delay_for(failures)
            if delay and not wait:
                raise LockedOutError(delay, failures)
            if counted:
                self.attempts.write(failures + 1)  # counted before trying: a killed attempt still counts
            if delay:
                if on_wait is not None:
                    on_wait(delay, failures)
                self.sleep(delay)
            with self._slots_lock(shared=True):
                header, slots = self.slots_file.read()
            key = SlotKey(header.params.derive(secret, header.salt))
            derived_at = self.clock()
            try:
                opened = key.open_all(header, slots)
                found = next((o for o in opened if o[1].kind == SlotKind.KEY), None)
                duress = next((o for o in opened if o[1].kind == SlotKind.DURESS), None)
                if found is not None:
                    return self._open(header, found[0], slots[found[0]], found[1], key, counted)
                if duress is not None:
                    return self._duress(header, duress[1], secret, before_erase)
                if counted:
                    self._wrong(header, failures + 1)
                raise WrongPassphraseError()
            finally:
                self.sleep(max(0.0, derived_at + self.settle_seconds - self.clock()))

    def _open(
        self, header: Header, index: int, slot: bytes, content: SlotContent, key: SlotKey, counted: bool = True
    ) -> UnlockedSite:
        if counted:
            self.attempts.write(0)
            self.attempts.write(0)  # the other endings write twice as well
        store = self.folder.open(content.master_key)
        if not any(content.member_key):  # a slot of an older Haven
            try:
                return self._convert(store, header, index, slot, content, key)
            except BaseException:
                store.close()
                raise
        try:
            blob = store.get_setting(member_setting(content.staff_id))
            if blob is None or not StaffTable(store).exists(content.staff_id):
                raise WrongPassphraseError()  # a slot left behind by an interrupted removal
            record = MemberRecord.open(content.member_key, content.staff_id, blob)
            if record.keys.admin is not None and legacy.is_legacy(store):  # a conversion cut short after its slot
                legacy.finish(store, record.keys, self.random_bytes)
            with contextlib.suppress(StoreFullError):  # (a full disk: at a later unlock)
                tallies.seal_legacy(store, self.random_bytes)  # the counters of a site made before tallies
        except BaseException:
            store.close()
            raise
        member = StaffMember(content.staff_id, record.name, Role(content.roles), record.slots, record.added)
        session = UnlockedSite(
            self, store, member, header, index, slot, content.master_key, record.keys, content.member_key
        )
        session.check_erase_after()
        return session

    def _convert(
        self, store: Store, header: Header, index: int, slot: bytes, content: SlotContent, key: SlotKey
    ) -> UnlockedSite:
        """A coordinator's first unlock of a site made before keys by role (haven/site/legacy.py)."""
        if Role.COORDINATOR not in Role(content.roles) or not legacy.is_legacy(store):
            legacy.refuse(store, Role(content.roles))
        with self._slots_lock():
            current, slots = self.slots_file.read()
            if current.salt != header.salt or slots[index] != slot:
                raise SiteError("The site's key slots changed while it was being opened; try again.")
            member, member_key, keys = legacy.convert(store, content.staff_id, self.random_bytes)
            new = dataclasses.replace(content, member_key=member_key)
            sealed = key.seal(header, index, new, self.random_bytes)
            self.slots_file.write_slot(index, sealed)
            legacy.finish(store, keys, self.random_bytes)
            with contextlib.suppress(StoreFullError):
                tallies.seal_legacy(store, self.random_bytes)
        return UnlockedSite(self, store, member, header, index, sealed, content.master_key, keys, member_key)

    def _duress(
        self, header: Header, content: SlotContent, secret: bytes, before_erase: Callable[[], None] | None = None
    ) -> UnlockedSite:
        """Erase everything, then build the site a fresh ``haven init`` by this person would make.

        Its one account holds every role, as ``init --admin`` gives (a lone registrar is a
        site init never makes), under a new id, salt and master key; the duress passphrase
        opens it with the key derived when it was set (:class:`DuressKey`), so this path
        runs no second derivation and takes the time any attempt takes.
        """
        with self._slots_lock():
            if before_erase is not None:
                before_erase()
            self._wipe(header)
            if any(content.master_key):
                salt, key = DuressKey.next_salt(content.staff_id), SlotKey(content.master_key)
            else:  # a duress slot set by an older Haven holds no key ahead: derive it now (one run longer)
                salt = new_salt(self.random_bytes)
                key = SlotKey(header.params.derive(secret, salt))
            fresh = Header(header.params, salt, header.erase_after)
            return self._write_new(fresh, content.name, ALL_ROLES, key, None, self.now())

    def _wrong(self, header: Header, failures: int) -> None:
        self.attempts.write(failures)
        self.attempts.write(failures)
        if header.erase_after and failures >= header.erase_after:
            self._erase(header)

    # ------------------------------------------------------------ erase

    @contextlib.contextmanager
    def _slots_lock(self, shared: bool = False, wait_seconds: float | None = None) -> Iterator[bool]:
        """The key slot file's lock, held briefly by every reader and writer.

        With ``wait_seconds``, give up waiting after that long and go on without
        it (yielding False): panic does not wait for anyone.
        """
        fd = os.open(self.folder.keyslots_path, os.O_RDONLY)
        try:
            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            if wait_seconds is None:
                fcntl.flock(fd, mode)
                yield True
                return
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    got = True
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        got = False
                        break
                    time.sleep(0.01)
            yield got
        finally:
            os.close(fd)

    def _wipe(self, header: Header | None) -> None:
        """Crypto-erase (every slot and the salt overwritten in place, fsync), then remove every site file.

        The files are then made anew rather than rewritten, so their birth and change times
        are those of a new site; the folder too, where nothing else is in it.
        """
        if self.folder.keyslots_path.exists():
            params = header.params if header is not None else KdfParams(3, MIN_MEMORY_KIB, default_parallelism())
            self.slots_file.write(Header(params, new_salt(self.random_bytes)), random_slots(self.random_bytes))
        self.folder.remove_files()
        with contextlib.suppress(OSError):  # not empty, a mount point, or a read-only parent: keep it
            self.folder.home.rmdir()

    def _erase(self, header: Header | None) -> None:
        """Erase the site and leave what a fresh, locked ``haven init`` leaves: no one holds its key."""
        params = header.params if header is not None else KdfParams(3, MIN_MEMORY_KIB, default_parallelism())
        fresh = Header(params, new_salt(self.random_bytes), header.erase_after if header is not None else 0)
        lock = (
            self._slots_lock(wait_seconds=PANIC_LOCK_WAIT_SECONDS)
            if self.folder.keyslots_path.is_file()
            else contextlib.nullcontext()
        )
        with lock:
            self._wipe(header)
            nobody = SlotKey(self.random_bytes(MASTER_KEY_BYTES))
            self._write_new(fresh, ERASED_ADMIN_NAME, ALL_ROLES, nobody, None, self.now()).close()

    def panic(self) -> None:
        """Crypto-erase the site now: no passphrase, no key derivation."""
        if not self.folder.exists():
            raise SiteError(f"There is no Haven site in {self.folder.home}.")
        header: Header | None
        try:
            header, _ = self.slots_file.read()
        except SiteError:
            header = None  # damaged or missing: overwrite it anyway
        with file_errors():
            self._erase(header)


@dataclass(frozen=True)
class DuressKey:
    """A duress passphrase's slot key, and the key it will need in the site that duress leaves.

    That site gets a new salt, so its key is another Argon2id run. Run at duress time, it
    would make a duress attempt take twice as long as any other; so it runs when the duress
    passphrase is set, under the salt the new site will have (made from ``seed``), and the
    duress slot keeps both (in the fields a key slot uses for the staff id and master key).
    """

    slot_key: SlotKey
    seed: bytes = field(repr=False)
    next_key: bytes = field(repr=False)

    @staticmethod
    def next_salt(seed: bytes) -> bytes:
        return hkdf(seed, "haven/v1/duress-next-salt", SALT_BYTES)

    @classmethod
    def derive(cls, header: Header, text: str, random_bytes: Callable[[int], bytes]) -> DuressKey:
        seed = random_bytes(STAFF_ID_BYTES)
        secret = text.encode()
        here = SlotKey(header.params.derive(secret, header.salt))
        return cls(here, seed, header.params.derive(secret, cls.next_salt(seed)))

    def seal(self, header: Header, index: int, roles: Role, name: str, random_bytes: Callable[[int], bytes]) -> bytes:
        content = SlotContent(SlotKind.DURESS, roles, self.seed, self.next_key, name)
        return self.slot_key.seal(header, index, content, random_bytes)


def _split(pair: tuple[int, int]) -> tuple[int, int]:
    """Which slot of an account's pair holds its passphrase: chosen at random, recorded nowhere."""
    a, b = pair
    return (a, b) if secrets.randbelow(2) else (b, a)


@dataclass
class UnlockedSite:
    """A site unlocked by one staff member: the store, who they are, and what they may do."""

    site: Site
    store: Store
    staff: StaffMember
    header: Header
    own_slot: int
    own_slot_bytes: bytes = field(repr=False)
    _master_key: bytes = field(repr=False)
    keys: RoleKeys = field(default=RoleKeys(), repr=False)  # the role keys this member's slot leads to
    _member_key: bytes = field(default=bytes(MEMBER_KEY_BYTES), repr=False)
    warnings: list[str] = field(default_factory=list)  # for the person at the keyboard (tampering found)
    _count_key: bytes | None = field(default=None, repr=False)  # None: from the member key (haven/site/daycount.py)

    def __post_init__(self) -> None:
        if self._count_key is None:
            self._count_key = daycount.count_key(self._member_key)

    @property
    def member_key(self) -> bytes:
        """The member key this member's own slot holds (the web keeps it to let them change their passphrase)."""
        return self._member_key

    @property
    def own_count_key(self) -> bytes:
        """The key of this member's own count of the day (b'': this view has none to update it with)."""
        return self._count_key or b""

    @property
    def weak_kdf(self) -> bool:
        """This site's passphrase keys are below the floor and the test profile is not set."""
        return not self.header.params.meets_floor() and self.site.settings.kdf_profile != "test"

    def require(self, permission: Permission) -> None:
        require(self.staff.roles, permission)

    def check_erase_after(self) -> None:
        """Compare the header's erase limit (anyone can edit it) with the copy in the database.

        The header must stay readable without a key, so it cannot be authenticated; the copy
        can. An edited limit is put back and reported in :attr:`warnings`.
        """
        stored = self.store.get_setting(ERASE_AFTER_SETTING)
        if self.header.unchecked:  # a header from before the check: write it with one (same bytes 0-55)
            with self._writing_slots():
                self.header = dataclasses.replace(self.header, unchecked=False)
                self.site.slots_file.write_header(self.header)
        if stored is None or int.from_bytes(stored, "big") == self.header.erase_after:
            return
        limit, found = int.from_bytes(stored, "big"), self.header.erase_after
        with self._writing_slots():
            self.header = dataclasses.replace(self.header, erase_after=limit)
            self.site.slots_file.write_header(self.header)
        self.warnings.append(
            f"The erase limit in the key slot file was changed without a passphrase ({found or 'never'} instead "
            f"of {limit or 'never'}); it is {limit or 'never'} again. Someone had the site's files: check this machine."
        )

    def same_key(self, other: UnlockedSite) -> bool:
        """Whether ``other`` opened the same database as this session (the same master key).

        False means the site was erased and rebuilt in between (a duress passphrase,
        here or in another process): the web app then switches to the new site.
        """
        return hmac.compare_digest(self._master_key, other._master_key)

    def as_staff(
        self,
        member: StaffMember,
        keys: RoleKeys = NO_KEYS,
        slot: tuple[int, bytes] | None = None,
        member_key: bytes = b"",
    ) -> UnlockedSite:
        """This unlocked site acting as ``member``, who proved their own passphrase elsewhere
        (``keys``: the role keys their own slot led to; none by default; ``slot``: that slot's index
        and bytes as their passphrase opened it; ``member_key``: their :attr:`member_key`, without which
        their own count of the day is not kept and their own passphrase cannot be changed).

        The web app keeps one open store for every signed-in staff member: each request
        acts through such a view, so ``require`` and ``record`` name the right person, and a change
        to the key slots checks the acting member's own slot (not that of whoever unlocked first,
        who may have been removed since).
        The view shares the store: closing it closes the store.
        """
        view = dataclasses.replace(self, staff=member, keys=keys)
        if member.id != self.staff.id:  # never another member's key
            view._member_key, view._count_key = member_key, daycount.count_key(member_key)
        if slot is not None:
            view.own_slot, view.own_slot_bytes = slot
        return view

    def record(self, action: str, count: int = 1) -> None:
        """Write an audit entry for something this staff member just did (a read: nothing to commit with it),
        and count it in their own day (:mod:`haven.site.daycount`), in one transaction."""
        now = self.site.now()
        with self.store.transaction():
            AuditLog(self.store).append(self.staff.id, action, count, now)
            daycount.add(self.store, self.staff.id, self.own_count_key, action, count, now, self.site.random_bytes)

    def own_day(self, now: dt.datetime) -> dict[str, int]:
        """This member's own counts for the UTC day of ``now`` (:mod:`haven.site.daycount`; none without their key)."""
        return daycount.today(self.store, self.staff.id, self.own_count_key, now)

    def auditor(self, action: str) -> Callable[[int], None]:
        """An audit hook for a change: called inside the change's write transaction, so the change
        and its entry commit together or not at all (see :meth:`haven.app.clinic.Clinic.add_visit`)."""
        return lambda count: self.record(action, count)

    def clinic(self, **kwargs: Any) -> Clinic:
        """Visits at this site: their counters sealed to the coordinators (haven/site/tallies.py)."""
        kwargs.setdefault("seal_counts", tallies.TallySealer.of(self.store, self.site.random_bytes))
        kwargs.setdefault("seal_network", NetworkSealer.of(self.store, self.site.random_bytes))
        return Clinic(self.store, **kwargs)

    def counts(self) -> tallies.Counts:
        """The counters, summed (a coordinator's: folding the tallies into one, with an audit entry)."""
        self.require(Permission.REPORT_VIEW)
        private = audit_private(self.keys, self.store.get_setting)
        seal = tallies.TallySealer.of(self.store, self.site.random_bytes)
        return tallies.read_and_fold(self.store, private, seal, self.auditor(Action.COUNTS_FOLD))

    def certificates(self) -> Certificates:
        """Certificate and trust use cases with this member's role keys (a clinician's open the signing keys)."""
        seal = tallies.TallySealer.of(self.store, self.site.random_bytes)
        return Certificates(self.store, self.site.now, self.site.random_bytes, keys=self.keys, seal_counts=seal)

    @property
    def audit(self) -> AuditLog:
        """The log; its entries open only with a coordinator's keys (checking the chain needs none)."""
        private = audit_private(self.keys, self.store.get_setting) if self.keys.admin is not None else None
        return AuditLog(self.store, private)

    def staff_table(self) -> StaffTable:
        return StaffTable(self.store, self.keys)

    def close(self) -> None:
        """Close the database and drop this object's reference to the master key.

        (Python cannot zero the bytes themselves: see docs/threat-model.md.)
        """
        self.store.close()
        self._master_key = b""
        self._member_key = b""
        self._count_key = b""
        self.keys = RoleKeys()

    def __enter__(self) -> UnlockedSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ slots

    @contextlib.contextmanager
    def _writing_slots(self) -> Iterator[list[bytes]]:
        """Hold the slot lock; refuse if the site was erased or changed since this session unlocked it."""
        with file_errors(), self.site._slots_lock():
            header, slots = self.site.slots_file.read()
            if header.salt != self.header.salt or slots[self.own_slot] != self.own_slot_bytes:
                raise SiteError(
                    "The site's key slots changed since you unlocked it (erased, or your passphrase changed)."
                )
            yield slots

    def _new_keys(self, passphrase: str, duress: str | None, name: str) -> tuple[str, SlotKey, DuressKey | None]:
        text = pp.check(passphrase, (name,))
        duress_text = None if duress is None else pp.check(duress, (name,))
        if duress_text is not None and duress_text == text:
            raise InputError("The duress passphrase must differ from the passphrase.", problem="duress-same")
        key = SlotKey(self.header.params.derive(text.encode(), self.header.salt))
        duress_key = None if duress_text is None else DuressKey.derive(self.header, duress_text, self.site.random_bytes)
        return text, key, duress_key

    def _refuse_taken(
        self, slots: list[bytes], key: SlotKey, duress: DuressKey | None, allowed: tuple[int, ...] = ()
    ) -> None:
        for candidate in (key, None if duress is None else duress.slot_key):
            if candidate is not None and any(i not in allowed for i, _ in candidate.open_all(self.header, slots)):
                raise InputError(
                    "This passphrase cannot be used here; choose another (haven staff passphrase-suggest).",
                    problem="passphrase-taken",
                )

    def _all_keys(self) -> RoleKeys:
        """Every role key, as only a coordinator can reach them (to hand them to a new or reset account)."""
        admin = self.keys.require_admin()
        return RoleKeys(issuing_key(self.keys, self.store.get_setting), admin)

    def add_staff(self, name: str, roles: Role, passphrase: str, duress: str | None = None) -> StaffMember:
        """A new account with its passphrase (and, if given, its duress passphrase).

        Who may is the application's to check (:mod:`haven.app.staff`); a passphrase without the
        admin key cannot hand out role keys all the same."""
        name = check_name(name)
        _, key, duress_key = self._new_keys(passphrase, duress, name)  # the slow part, outside the lock
        now = self.site.now()
        table = self.staff_table()
        keys = self._all_keys()
        with self._writing_slots() as slots:
            self._refuse_taken(slots, key, duress_key)
            free = [i for i in range(SLOTS) if i not in table.used_slots()]
            if len(free) < 2:
                raise SiteError(f"This site has room for {SLOTS // 2} staff accounts; remove one first.")
            member = StaffMember(
                self.site.random_bytes(STAFF_ID_BYTES), name, roles, self.site._random_pair(free), day(now)
            )
            with self.store.transaction():
                member_key, _ = add_member(self.store, member, keys, self.site.random_bytes)
                append_audit(self.store, self.staff.id, Action.STAFF_ADD, 1, now)
            key_index, other = _split(member.slots)
            content = SlotContent(SlotKind.KEY, roles, member.id, self._master_key, member_key=member_key)
            self.site.slots_file.write_slot(
                key_index, key.seal(self.header, key_index, content, self.site.random_bytes)
            )
            if duress_key is not None:
                sealed = duress_key.seal(self.header, other, roles, name, self.site.random_bytes)
                self.site.slots_file.write_slot(other, sealed)
        return member

    def remove_staff(self, name: str) -> None:
        """Overwrite the account's slots (its passphrases stop working at once) and forget its name
        (who may: :mod:`haven.app.staff`)."""
        table = self.staff_table()
        member = table.by_name(name)
        if member.id == self.staff.id:
            raise InputError("You cannot remove your own account; another coordinator can.")
        coordinators = [m for m in table.active() if Role.COORDINATOR in m.roles]
        if Role.COORDINATOR in member.roles and len(coordinators) <= 1:
            raise InputError("This is the site's last coordinator; add another before removing it.")
        now = self.site.now()
        with self._writing_slots():
            for index in member.slots:
                self.site.slots_file.write_slot(index, self.site.random_bytes(len(self.own_slot_bytes)))
            with self.store.transaction():
                staff_rows.remove(self.store, member.id, now)
                append_audit(self.store, self.staff.id, Action.STAFF_REMOVE, 1, now)

    def change_passphrase(
        self,
        new: str,
        *,
        name: str | None = None,
        duress: str | None = None,
        clear_duress: bool = False,
    ) -> StaffMember:
        """Replace a passphrase in place (the old one stops working).

        Without ``name``: your own; your duress passphrase is kept unless you
        give a new one or ``clear_duress``. With another staff member's ``name``
        (coordinators only, :mod:`haven.app.staff`): both of their slots are rewritten, so their duress
        passphrase is replaced by ``duress`` or dropped.
        """
        own = name is None or check_name(name) == self.staff.name
        if own and len(self._member_key) != MEMBER_KEY_BYTES:  # a view without it would seal the wrong one
            raise SiteError("This session cannot change its own passphrase; sign in again.")
        target = self.staff if own else self.staff_table().by_name(name or "")
        _, key, duress_key = self._new_keys(new, duress, target.name)
        now = self.site.now()
        with self._writing_slots() as slots:
            self._refuse_taken(slots, key, duress_key, allowed=target.slots)
            if own:
                key_index = self.own_slot
                other = target.slots[1] if target.slots[0] == key_index else target.slots[0]
            else:
                key_index, other = _split(target.slots)
            member_key = self._member_key
            with self.store.transaction():
                if not own:  # their record is rebuilt under a new member key that only the new slot holds
                    keys = self._all_keys().for_roles(target.roles)
                    member_key = self.site.random_bytes(MEMBER_KEY_BYTES)
                    record = MemberRecord(target.name, target.slots, target.added, keys)
                    sealed_record = record.seal(member_key, target.id, self.site.random_bytes)
                    self.store.put_setting(member_setting(target.id), sealed_record)
                    self.store.delete_setting(daycount.setting(target.id))  # it no longer opens
                append_audit(self.store, self.staff.id, Action.STAFF_PASSWD, 1, now)
            content = SlotContent(SlotKind.KEY, target.roles, target.id, self._master_key, member_key=member_key)
            sealed = key.seal(self.header, key_index, content, self.site.random_bytes)
            self.site.slots_file.write_slot(key_index, sealed)
            if duress_key is not None:
                decoy = duress_key.seal(self.header, other, target.roles, target.name, self.site.random_bytes)
                self.site.slots_file.write_slot(other, decoy)
            elif clear_duress or not own:
                self.site.slots_file.write_slot(other, self.site.random_bytes(len(sealed)))
            if own:
                self.own_slot, self.own_slot_bytes = key_index, sealed
        return target

    def set_erase_after(self, failures: int) -> None:
        """Erase the site after this many wrong passphrases in a row (0: never; who may: :mod:`haven.app.staff`)."""
        if failures < 0 or failures > 10_000:
            raise InputError("--erase-after is a number of wrong passphrases from 1 to 10000, or 0 for never.")
        if 0 < failures < 3:
            raise InputError("Erasing after fewer than 3 wrong passphrases would erase on a typo; use 3 or more.")
        with self._writing_slots(), self.store.transaction():
            # The audit entry is written first and committed after the header: a header that cannot be
            # written leaves no entry for a change that was not made. The database keeps the limit too
            # (where only a passphrase can change it): see check_erase_after.
            self.record(Action.SITE_SET)
            self.store.put_setting(ERASE_AFTER_SETTING, failures.to_bytes(4, "big"))
            header, _ = self.site.slots_file.read()
            self.header = Header(header.params, header.salt, failures)
            self.site.slots_file.write_header(self.header)
