"""Pull before writing: a site that remembers its hub pulls what it lacks before it records a visit.

A holder's next visit gets the index after the last one this site holds. Pulled first, the rows an earlier
site wrote are here, so the visit continues their index instead of writing a second index 0 under the
locator they used (docs/sync.md, "One history"). The pull is a whole sync pull (every differing row, cost
∝ the difference), never a lookup of the holder's locators: the hub learns that this site is about to
write, not for whom. It runs before every visit, first or not, so the request says nothing about the
holder either. Any role's session signs it with the site's pull-only credential (haven/hub/pull_credential.py,
issued when a coordinator remembers the hub); a hub that does not answer within a few seconds is skipped,
and the visit is recorded as without a hub, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haven.app.actions import Action
from haven.errors import HavenError
from haven.hub import pull_credential, wire
from haven.hub.client import HubConnection, hub_address, sync_with_hub
from haven.site.site import UnlockedSite
from haven.store.base import Store

HUB_SETTING = "sync/hub"  # the hub's URL, as `haven site set --hub` remembered it
PULL_TIMEOUT_S = 3.0
NO_CREDENTIAL = (
    "this site has no pull credential yet and only a coordinator's session holds the sync key: "
    "a coordinator runs 'haven site set --hub URL' again"
)


@dataclass(frozen=True)
class Pulled:
    """What the pull before a write did: rows pulled, or why there was none."""

    rows: int | None  # None: not pulled
    problem: str | None = None
    reason: str | None = None  # why not: "unreachable", "failed" (the hub refused or answered wrong), "no-credential"

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"pulled": self.rows is not None, "rows": self.rows or 0}
        if self.problem is not None:
            doc["problem"] = self.problem
        return doc

    def warning(self) -> str | None:
        if self.problem is None:
            return None
        return f"haven: warning: not pulled from the hub first ({self.problem}); recorded from this site's rows only."


def remembered(store: Store) -> str | None:
    url = store.get_setting(HUB_SETTING)
    return None if url is None else url.decode()


def remember(session: UnlockedSite, url: str) -> None:
    """Remember ``url`` as this site's hub ('': forget it), with the ``site.set`` audit entry. A member
    site (one with sync keys) gets a new pull-only credential too, so that every role's visit pulls first."""
    if url:
        hub_address(url)
    from haven.sync.service import Sync  # the site's sync keys, as haven/sync keeps them

    with session.store.transaction():
        session.record(Action.SITE_SET)
        if url:
            session.store.put_setting(HUB_SETTING, url.encode())
            keys = Sync(session).site_keys() if session.keys.admin is not None else None
            if keys is not None:
                pull_credential.store_new(session.store, keys, session.site.random_bytes)
        else:
            session.store.delete_setting(HUB_SETTING)
            session.store.delete_setting(pull_credential.SETTING)


def _signer(session: UnlockedSite) -> wire.RequestSigner | None:
    """The pull-only credential (any role), else a coordinator's sync key; None for neither."""
    credential = pull_credential.stored(session.store)
    if credential is not None:
        return credential
    if session.keys.admin is None:
        return None
    from haven.sync.service import Sync

    keys, _ = Sync(session).identity()
    return wire.Signer(keys.signing)


def pull_first(session: UnlockedSite) -> Pulled | None:
    """Pull from the remembered hub before a write; None when no hub is remembered. Never raises a
    hub's problem: it is returned, for the write to go on and say so."""
    url = remembered(session.store)
    if url is None:
        return None
    try:
        signer = _signer(session)
        if signer is None:
            return Pulled(None, NO_CREDENTIAL, "no-credential")
        conn = HubConnection(url, signer, timeout=PULL_TIMEOUT_S, retries=0)
        try:
            done = sync_with_hub(session.store, conn, session.auditor(Action.SYNC_PULL), push=False)
        finally:
            conn.close()
    except HavenError as exc:
        return Pulled(None, exc.message.rstrip("."), "unreachable" if exc.problem == "unreachable" else "failed")
    return Pulled(done.pulled)
