"""The hub's copy of the network roster (haven/sync/roster.py): who may sync through it.

``haven hub init`` takes the roster a coordinator of the network's root hands the hub's operator and
pins the root that signed it (its fingerprint is printed, to compare with the coordinator's). Every
later roster must be signed by that root and be newer, so a removed site cannot come back by an old
roster being replayed. The hub keeps the roster's public keys only; it cannot open the network key
sealed inside it (that needs a member's encryption key), so it cannot open a bundle.
"""

from __future__ import annotations

from collections.abc import Mapping

from haven.certs import cbor, cose
from haven.certs.signing_keys import kid_of
from haven.errors import HavenError, RosterError
from haven.store.hub import ROOT, ROSTER, HubStore
from haven.sync.roster import Roster, parse_roster


def named_root(data: bytes) -> bytes:
    """The root a roster says signed it (checked only by :func:`parse_roster` afterwards)."""
    try:
        value = cbor.loads(cose.decode_sign1(data, canonical=True, what="roster").payload, "roster", canonical=True)
    except HavenError:
        raise RosterError("This is not a readable Haven roster.") from None
    root = value.get(3) if isinstance(value, Mapping) else None
    if not isinstance(root, bytes):
        raise RosterError("This is not a Haven network roster.")
    return root


def take_roster(db: HubStore, data: bytes) -> Roster:
    """Check ``data`` against the pinned root (the first roster pins its own) and store it if newer."""
    pinned = db.get_setting(ROOT)
    roster = parse_roster(data, pinned if pinned is not None else named_root(data))
    held = current_roster(db)
    if held is not None and roster.version <= held.version:
        raise RosterError(f"This roster (version {roster.version}) is not newer than the hub's ({held.version}).")
    db.put_settings({ROOT: roster.root_public, ROSTER: data})
    return roster


def current_roster(db: HubStore) -> Roster | None:
    data, root = db.get_setting(ROSTER), db.get_setting(ROOT)
    return None if data is None or root is None else parse_roster(data, root)


def root_fingerprint(roster: Roster) -> str:
    """The pinned root's key id, as the network's coordinators can read it on their side."""
    return kid_of(roster.root_public).hex()
