"""A small network of real sites for the sync tests: a root site and members, admitted and synced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haven.certs.signing_keys import fingerprint
from haven.core.card import Card
from haven.site.site import Site
from haven.sync.service import Sync
from tests.helpers_site import ADMIN, new_site

VAX1 = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
VAX2 = [{"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-25"}]
TEST = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-02"}]


@dataclass
class Network:
    root: Site
    sites: dict[str, Site] = field(default_factory=dict)  # name -> site, the root included as "root"
    trust_list: bytes = b""
    root_fingerprint: str = ""

    def sync(self, name: str) -> Any:
        """An unlocked session of site ``name`` and its Sync (use as ``with net.sync(n) as (session, s)``)."""
        return _Opened(self.sites[name])

    def join(self, name: str, home: Path) -> Site:
        """A new site that joins the trust list, asks to be admitted, is admitted and imports the roster."""
        site = new_site(home, clinician=False, duress=None)
        with site.unlock(ADMIN) as session:
            session.certificates().join(self.trust_list, self.root_fingerprint)
            request = Sync(session).request()
        self.sites[name] = site
        self.admit(request)
        self.send_roster(name)
        return site

    def admit(self, request: bytes) -> None:
        with self.root.unlock(ADMIN) as session:
            Sync(session).admit(request)

    def send_roster(self, name: str) -> None:
        with self.root.unlock(ADMIN) as session:
            roster = Sync(session).export_roster()
        with self.sites[name].unlock(ADMIN) as session:
            Sync(session).import_roster(roster)

    def export(self, name: str, for_site: str | None = None, have: bytes | None = None) -> bytes:
        with self.sites[name].unlock(ADMIN) as session:
            return Sync(session).export(for_site, have).data

    def import_(self, name: str, data: bytes) -> Any:
        with self.sites[name].unlock(ADMIN) as session:
            return Sync(session).import_bundle(data)

    def site_id(self, name: str) -> str:
        with self.sites[name].unlock(ADMIN) as session:
            keys = Sync(session).site_keys()
            assert keys is not None
            return keys.member.site_id

    def add_visit(self, name: str, card: Card, doc: Any, first: bool = False) -> int:
        with self.sites[name].unlock(ADMIN) as session:
            return session.clinic().add_visit(card, doc, first_visit=first).index

    def history(self, name: str, card: Card) -> Any:
        with self.sites[name].unlock(ADMIN) as session:
            return session.clinic().history(card)

    def rows(self, name: str) -> set[tuple[bytes, bytes, bytes]]:
        with self.sites[name].unlock(ADMIN) as session:
            return {(r.locator, r.id, r.sealed) for r in session.store.records()}


class _Opened:
    def __init__(self, site: Site) -> None:
        self.session = site.unlock(ADMIN)

    def __enter__(self) -> tuple[Any, Sync]:
        return self.session, Sync(self.session)

    def __exit__(self, *exc: object) -> None:
        self.session.close()


def make_network(tmp_path: Path, members: tuple[str, ...] = ("a", "b")) -> Network:
    """A root site (network "North clinics") and ``members`` joined to it; the root is a member too."""
    root = new_site(tmp_path / "root", clinician=False, duress=None)
    with root.unlock(ADMIN) as session:
        listed = session.certificates().create_root("North clinics")
        trust_list = session.certificates().export_list()
    net = Network(root, {"root": root}, trust_list, fingerprint(listed.root_public))
    for name in members:
        net.join(name, tmp_path / name)
    for name in members:  # every member holds the newest roster
        net.send_roster(name)
    return net


def snapshot(site: Site) -> dict[str, Any]:
    """Every table and row of a site's database (records, settings, audit, buckets...)."""
    with site.unlock(ADMIN) as session:
        return {t.name: sorted(map(repr, t.rows)) for t in session.store.tables()}
