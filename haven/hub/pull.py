"""Pull before writing: a site that remembers its hub pulls what it lacks before it records a visit.

A holder's next visit gets the index after the last one this site holds. Pulled first, the rows an earlier
site wrote are here, so the visit continues their index instead of writing a second index 0 under the
locator they used (docs/sync.md, "One history"). The pull is a whole sync pull (every differing row, cost
∝ the difference), never a lookup of the holder's locators: the hub learns that this site is about to
write, not for whom. It runs before every visit, first or not, so the request says nothing about the
holder either. Only the sync key signs it, which only coordinators hold; a hub that does not answer within
a few seconds is skipped, and the visit is recorded as without a hub, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haven.app.actions import Action
from haven.errors import HavenError
from haven.hub import wire
from haven.hub.client import HubConnection, hub_address, sync_with_hub
from haven.site.site import UnlockedSite
from haven.store.base import Store

HUB_SETTING = "sync/hub"  # the hub's URL, as `haven site set --hub` remembered it
PULL_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Pulled:
    """What the pull before a write did: rows pulled, or why there was none."""

    rows: int | None  # None: not pulled
    problem: str | None = None

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
    """Remember ``url`` as this site's hub ('': forget it), with the ``site.set`` audit entry."""
    if url:
        hub_address(url)
    with session.store.transaction():
        session.record(Action.SITE_SET)
        if url:
            session.store.put_setting(HUB_SETTING, url.encode())
        else:
            session.store.delete_setting(HUB_SETTING)


def pull_first(session: UnlockedSite) -> Pulled | None:
    """Pull from the remembered hub before a write; None when no hub is remembered. Never raises a
    hub's problem: it is returned, for the write to go on and say so."""
    url = remembered(session.store)
    if url is None:
        return None
    if session.keys.admin is None:
        return Pulled(None, "only a coordinator's session holds the site's sync key")
    from haven.sync.service import Sync  # the site's sync keys, as haven/sync keeps them

    try:
        keys, _ = Sync(session).identity()
        conn = HubConnection(url, wire.Signer(keys.signing), timeout=PULL_TIMEOUT_S, retries=0)
        try:
            done = sync_with_hub(session.store, conn, session.auditor(Action.SYNC_PULL), push=False)
        finally:
            conn.close()
    except HavenError as exc:
        return Pulled(None, exc.message.rstrip("."))
    return Pulled(done.pulled)
