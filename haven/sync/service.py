"""Sync use cases at an unlocked site: membership, the roster, bundles out and in.

Each checks its permission, acts and writes its audit entry in one transaction. Settings:

* ``sync/site-keys``     this site's Ed25519 and X25519 private keys, wrapped under the admin key
* ``sync/network-keys``  every network private key this site was given ({key_version: key}), wrapped likewise
* ``sync/roster``        the newest root-signed roster this site holds (as received), wrapped likewise: it
                         lists the network's sites, which only coordinators need to see
* ``sync/counts-public`` the network counts public key the roster carries, in the clear: every role seals
                         each visit's network tally to it (haven/sync/network_tallies.py)
* ``sync/counts-key``    at the root's site only: its private half, wrapped under the admin key
* ``sync/counts-fold``   at the root's site only: the network report's sum of the tallies it opened, sealed
                         under a key derived from that private half (haven/sync/network_fold.py)

Only coordinators hold the admin key, so only they sync (:data:`Permission.SYNC`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import cbor2
from cryptography.hazmat.primitives.asymmetric import x25519

from haven.app.actions import Action
from haven.cert_services import ROOT_PUBLIC
from haven.certs.signing_keys import public_bytes
from haven.core.records import SealedRecord
from haven.errors import BundleInvalidError, InputError, NotAMemberError, RosterError
from haven.site.rolekeys import unwrap, wrap
from haven.site.roles import Permission
from haven.site.site import UnlockedSite
from haven.store.base import Store
from haven.sync import reconcile
from haven.sync.buckets import BUCKETS
from haven.sync.bundle import OpenedBundle, read_bundle, seal_bundle, unpack_rows, write_bundle
from haven.sync.network_tallies import COUNTS_KEY, COUNTS_PUBLIC
from haven.sync.roster import Member, Roster, SiteKeys, new_roster, parse_request, parse_roster

SITE_KEYS = "sync/site-keys"
NETWORK_KEYS = "sync/network-keys"
ROSTER = "sync/roster"
SUMMARY_DIGEST_BYTES = 8


@dataclass(frozen=True)
class ImportResult:
    new: int
    present: int
    roster_version: int | None  # set when the bundle brought a newer roster

    def to_doc(self) -> dict[str, Any]:
        return {"new": self.new, "already_present": self.present, "roster_updated": self.roster_version}


@dataclass(frozen=True)
class Exported:
    data: bytes  # the bundle (empty when it was written to a file as it was made: :meth:`Sync.export_to`)
    rows: int
    size: int

    def to_doc(self) -> dict[str, Any]:
        return {"rows": self.rows, "bytes": self.size}


EXPORT_BATCH_ROWS = 20_000  # rows read from the store at once while a bundle is written
IMPORT_BATCH_ROWS = 10_000  # rows merged at once (all in the import's one transaction)


def rows_in_buckets(store: Store, buckets: Sequence[int] = range(BUCKETS)) -> Iterator[SealedRecord]:
    """The rows of ``buckets`` in key order, read about :data:`EXPORT_BATCH_ROWS` at a time."""
    per_bucket = max(1, store.count() // BUCKETS)
    step = max(1, EXPORT_BATCH_ROWS // per_bucket)
    for start in range(0, len(buckets), step):
        yield from store.sync_rows(buckets[start : start + step])


class Sync:
    """Sync for one unlocked site, acting as its staff member (a coordinator's keys open the sync keys)."""

    def __init__(self, session: UnlockedSite) -> None:
        self.session = session
        self.store = session.store

    # ------------------------------------------------------------ keys and roster, as stored

    def _admin(self) -> bytes:
        return self.session.keys.require_admin()

    def site_keys(self) -> SiteKeys | None:
        blob = self.store.get_setting(SITE_KEYS)
        return None if blob is None else SiteKeys.from_bytes(unwrap(self._admin(), SITE_KEYS, blob))

    def _own_keys(self) -> SiteKeys:
        keys = self.site_keys()
        if keys is None:
            raise NotAMemberError("This site has no sync keys yet: run 'haven sync request' and have it admitted.")
        return keys

    def _ensure_keys(self) -> SiteKeys:
        keys = self.site_keys()
        if keys is None:
            keys = SiteKeys.generate(self.session.site.random_bytes)
            self.store.put_setting(SITE_KEYS, wrap(self._admin(), SITE_KEYS, keys.to_bytes(), self._random))
        return keys

    def _random(self, n: int) -> bytes:
        return self.session.site.random_bytes(n)

    def network_keys(self) -> dict[int, x25519.X25519PrivateKey]:
        blob = self.store.get_setting(NETWORK_KEYS)
        if blob is None:
            return {}
        raw: dict[int, bytes] = cbor2.loads(unwrap(self._admin(), NETWORK_KEYS, blob))
        return {int(v): x25519.X25519PrivateKey.from_private_bytes(k) for v, k in raw.items()}

    def _save_network_keys(self, keys: dict[int, x25519.X25519PrivateKey]) -> None:
        plain = cbor2.dumps({v: k.private_bytes_raw() for v, k in keys.items()}, canonical=True)
        self.store.put_setting(NETWORK_KEYS, wrap(self._admin(), NETWORK_KEYS, plain, self._random))

    def _pinned_root(self) -> bytes | None:
        return self.store.get_setting(ROOT_PUBLIC)

    def _roster_bytes(self) -> bytes | None:
        blob = self.store.get_setting(ROSTER)
        return None if blob is None else unwrap(self._admin(), ROSTER, blob)

    def _save_roster(self, data: bytes) -> None:
        self.store.put_setting(ROSTER, wrap(self._admin(), ROSTER, data, self._random))

    def roster(self) -> Roster | None:
        data = self._roster_bytes()
        return None if data is None else parse_roster(data, self._pinned_root())

    def _require_roster(self) -> Roster:
        roster = self.roster()
        if roster is None:
            raise RosterError(
                "This site has no network roster yet: import one (haven sync roster import) after being admitted."
            )
        return roster

    def _adopt(self, data: bytes, roster: Roster) -> None:
        """Store a newer roster, the network key it seals to this site and the network counts key it
        carries (inside the caller's transaction)."""
        self._save_roster(data)
        keys = self.site_keys()
        if keys is not None:
            network = {**self.network_keys(), **roster.open_network_keys(keys)}
            self._save_network_keys(network)
            counts = roster.open_counts_key(network)
            if counts is not None:
                self.store.put_setting(COUNTS_PUBLIC, counts)

    def _counts_public(self, roster: Roster | None) -> bytes | None:
        """The network counts key a new roster carries on (the one the current roster carries)."""
        return None if roster is None else roster.open_counts_key(self.network_keys())

    def counts_private(self) -> x25519.X25519PrivateKey | None:
        """The network counts private key, at the root's site (a coordinator's session); None elsewhere."""
        blob = self.store.get_setting(COUNTS_KEY)
        if blob is None:
            return None
        return x25519.X25519PrivateKey.from_private_bytes(unwrap(self._admin(), COUNTS_KEY, blob))

    def make_counts_key(self) -> Roster:
        """At the root's site: make the network counts key, and a new roster that carries it to every member.
        From then on each member seals every visit's counts to it too; run once (again: the same key)."""
        self.session.require(Permission.TRUST_MANAGE)
        root = self._root()
        with self.store.transaction():
            current = self._require_roster()
            if current.sealed_counts is not None and self.counts_private() is not None:
                return current
            private = x25519.X25519PrivateKey.from_private_bytes(self._random(32))
            public = private.public_key().public_bytes_raw()
            wrapped = wrap(self._admin(), COUNTS_KEY, private.private_bytes_raw(), self._random)
            self.store.put_setting(COUNTS_KEY, wrapped)
            self.store.put_setting(COUNTS_PUBLIC, public)
            roster = new_roster(
                current, current.root_public, current.members, current.removed, self.network_keys(), public
            )
            self._save_roster(roster.sign(root))
            self.session.record(Action.NETWORK_COUNTS_KEY)
        return roster

    # ------------------------------------------------------------ membership

    def request(self) -> bytes:
        """This site's membership request (its sync keys are made now if it has none)."""
        self.session.require(Permission.SYNC)
        with self.store.transaction():
            keys = self._ensure_keys()
            self.session.record(Action.SYNC_REQUEST)
        return keys.request()

    def _root(self) -> Any:
        root = self.session.certificates().root_key()
        if root is None:
            raise RosterError("This site does not hold the network's root key: only the root's site admits members.")
        return root

    def admit(self, request: bytes) -> Roster:
        """At the root's site: add the requesting site to the roster (the root's own site joins first)."""
        self.session.require(Permission.TRUST_MANAGE)
        member = parse_request(request)
        root = self._root()
        with self.store.transaction():
            current = self.roster()
            if current is not None and member.sign_public in current.removed:
                raise NotAMemberError(
                    f"Site {member.site_id} was removed from this network; a rebuilt site makes new keys "
                    "(haven sync request) and is admitted under them."
                )
            if current is not None and current.member(member.sign_public) is not None:
                return current
            if current is None:
                own = self._ensure_keys().member
                network = {1: x25519.X25519PrivateKey.from_private_bytes(self._random(32))}
                self._save_network_keys(network)
                members, removed = {own, member}, frozenset[bytes]()
            else:
                network = self.network_keys()
                members, removed = {*current.members, member}, current.removed
            roster = new_roster(current, public_bytes(root), members, removed, network, self._counts_public(current))
            self._save_roster(roster.sign(root))
            self.session.record(Action.NETWORK_ADMIT)
        return roster

    def remove(self, site: str) -> Roster:
        """At the root's site: drop a member (its bundles are refused from now on) and change the network key."""
        self.session.require(Permission.TRUST_MANAGE)
        root = self._root()
        with self.store.transaction():
            current = self._require_roster()
            member = current.by_site_id(site)
            own = self.site_keys()
            if own is not None and member.sign_public == own.member.sign_public:
                raise InputError("The root's own site cannot be removed from its network.")
            network = {
                **self.network_keys(),
                current.version + 1: x25519.X25519PrivateKey.from_private_bytes(self._random(32)),
            }
            self._save_network_keys(network)
            members = [m for m in current.members if m != member]
            removed = current.removed | {member.sign_public}
            counts = self._counts_public(current)
            roster = new_roster(current, current.root_public, members, removed, network, counts)
            self._save_roster(roster.sign(root))
            self.session.record(Action.NETWORK_REMOVE)
        return roster

    def export_roster(self) -> bytes:
        self.session.require(Permission.SYNC)
        self._require_roster()
        data = self._roster_bytes()
        assert data is not None
        return data

    def import_roster(self, data: bytes) -> Roster:
        """Adopt a roster signed by this network's root, if it is newer than the one held."""
        self.session.require(Permission.SYNC)
        new = parse_roster(data, self._pinned_root())
        with self.store.transaction():
            current = self.roster()
            if current is not None and new.version < current.version:
                raise RosterError(
                    f"This roster (version {new.version}) is older than the one this site holds ({current.version})."
                )
            if current is None or new.version > current.version:
                self._adopt(data, new)
            self.session.record(Action.SYNC_ROSTER)
        return new

    # ------------------------------------------------------------ bundles

    def _recipient(self, roster: Roster, site: str | None) -> tuple[x25519.X25519PublicKey, Member | None]:
        if site is None:
            return roster.network_key(), None
        member = roster.by_site_id(site)
        return member.enc_key(), member

    def _sender(self) -> tuple[SiteKeys, Roster]:
        keys, roster = self._own_keys(), self._require_roster()
        roster.check_sender(keys.member.sign_public)  # a removed site cannot send
        return keys, roster

    def export(self, for_site: str | None = None, have: bytes | None = None) -> Exported:
        """:meth:`export_to` into memory."""
        out = io.BytesIO()
        done = self.export_to(out, for_site, have)
        return Exported(out.getvalue(), done.rows, done.size)

    def export_to(self, out: BinaryIO, for_site: str | None = None, have: bytes | None = None) -> Exported:
        """Write a bundle of every row, or (``have``: a state file from the receiver) of the rows in the
        buckets where the receiver differs, to ``out``; sealed to the network, or to ``for_site`` alone.
        Rows are read a run of buckets at a time and sealed a frame at a time: memory stays bounded."""
        self.session.require(Permission.SYNC)
        keys, roster = self._sender()
        if have is None:
            buckets: Sequence[int] = range(BUCKETS)
        else:
            theirs = self._open_checked(io.BytesIO(have), roster)[0]
            if theirs.summary is None:
                raise InputError("The --have file is a bundle without a state; give a file 'haven sync state' wrote.")
            mine, theirs_nodes = self.store.sync_buckets(), reconcile.unpack_nodes(theirs.summary)
            buckets = reconcile.differing(mine, theirs_nodes, set(mine) | set(theirs_nodes))
        to, recipient = self._recipient(roster, for_site)
        ordered = rows_in_buckets(self.store, buckets)
        rows, size = write_bundle(out, keys, to, ordered, self._roster_bytes(), recipient=recipient)
        with self.store.transaction():
            self.session.record(Action.SYNC_EXPORT, rows)
        return Exported(b"", rows, size)

    def state(self, for_site: str | None = None) -> bytes:
        """A state file: no rows, this site's bucket digests, so a peer exports only what differs."""
        self.session.require(Permission.SYNC)
        keys, roster = self._sender()
        summary = reconcile.pack_nodes(self.store.sync_buckets(), SUMMARY_DIGEST_BYTES)
        to, recipient = self._recipient(roster, for_site)
        data = seal_bundle(keys, to, (), self._roster_bytes(), summary=summary, recipient=recipient)
        with self.store.transaction():
            self.session.record(Action.SYNC_STATE)
        return data

    def _open_checked(self, source: BinaryIO, held: Roster | None) -> tuple[OpenedBundle, Roster, bytes | None]:
        """Open and check a bundle whole: (bundle, the roster it was checked against, that roster's bytes
        if newer than the one held). Its rows are read again by ``OpenedBundle.rows``."""
        keys = self.site_keys()
        candidates = [keys.encryption] if keys is not None else []
        candidates += [k for _, k in sorted(self.network_keys().items(), reverse=True)]
        opened = read_bundle(source, candidates)
        roster, newer = held, None
        if opened.roster is not None:
            carried = parse_roster(opened.roster, self._pinned_root())
            if held is None or carried.version > held.version:
                roster, newer = carried, opened.roster
        if roster is None:
            raise RosterError("This site has no network roster yet to check the bundle's sender against.")
        opened.check(roster, None if keys is None else keys.member)
        return opened, roster, newer

    def import_bundle(self, data: bytes | BinaryIO) -> ImportResult:
        """Check the whole bundle (bytes, or a seekable file read twice), then merge its rows (and a newer
        roster) in one transaction."""
        self.session.require(Permission.SYNC)
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        # Read and checked before the write transaction: decrypting a large bundle holds no lock.
        opened, roster, newer = self._open_checked(source, self.roster())
        if opened.summary is not None and opened.count:
            raise BundleInvalidError("This bundle is malformed inside (rows and a state); nothing was imported.")
        with self.store.transaction():
            held = self.roster()
            if held is not None and held.version > roster.version:  # a newer roster arrived meanwhile: check again
                opened, roster, newer = self._open_checked(source, held)
            if newer is not None and (held is None or roster.version > held.version):
                self._adopt(newer, roster)
            new = 0
            batch: list[SealedRecord] = []
            for rows in opened.rows():  # read again; a file changed since it was checked rolls all back
                batch.extend(rows)
                if len(batch) >= IMPORT_BATCH_ROWS:
                    new, batch = new + self.store.merge(batch), []
            new += self.store.merge(batch)
            self.session.record(Action.SYNC_IMPORT, new)
        return ImportResult(new, opened.count - new, roster.version if newer is not None else None)

    # ------------------------------------------------------------ for a transport (a hub's HTTP client)

    def peer(self) -> reconcile.StorePeer:
        """This site's side of a reconciliation (haven/sync/reconcile.py)."""
        self.session.require(Permission.SYNC)
        return reconcile.StorePeer(self.store)

    def identity(self) -> tuple[SiteKeys, Roster]:
        """This member's sync keys and the roster it holds: to sign what it sends a hub, and check members."""
        self.session.require(Permission.SYNC)
        return self._sender()

    def accept_rows(self, packed: bytes, action: str = Action.SYNC_PULL) -> ImportResult:
        """Rows a transport brought, packed as in a bundle (:func:`haven.sync.bundle.pack_rows`): every row
        checked for a sealed record's shape first, then merged with the audit entry ``action`` in one
        transaction (a bad row: :class:`BundleInvalidError`, nothing merged)."""
        self.session.require(Permission.SYNC)
        rows = unpack_rows(packed)
        with self.store.transaction():
            new = self.store.merge(rows)
            self.session.record(action, new)
        return ImportResult(new, len(rows) - new, None)
