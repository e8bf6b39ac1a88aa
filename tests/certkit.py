"""Helpers shared by the certificate tests: a network on a MemoryStore, a holder with doses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from haven.app.clinic import Clinic, unsealed_tally
from haven.cert_services import Certificates
from haven.core.card import Card
from haven.site.rolekeys import RoleKeys
from haven.store.memory import MemoryStore
from tests.helpers_clock import NOW, Clock, seeded

VECTORS = Path(__file__).resolve().parent / "vectors"  # every test vector lives in the repository
EU_DCC = VECTORS / "eu-dcc"
SHC = VECTORS / "shc"
SHC_JWKS = SHC / "issuer" / ".well-known" / "jwks.json"
THREE_DOSES = [
    {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2025-01-10"},
    {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2025-02-07"},
    {"type": "vaccination", "product": "comirnaty", "dose": 3, "date": "2025-09-15"},
]


@dataclass
class Site:
    store: MemoryStore
    clock: Clock
    certs: Certificates

    def clinic(self) -> Clinic:
        return Clinic(
            self.store,
            today=lambda: self.clock().date(),
            random_bytes=self.certs.random_bytes,
            seal_counts=unsealed_tally,
        )

    def holder(self, entries: list[dict[str, object]] | None = None, secret: int = 1) -> Card:
        card = Card(bytes([secret]) * 16)
        self.clinic().add_visit(card, entries or THREE_DOSES, first_visit=True)
        return card


def network(seed: int = 1, now: dt.datetime = NOW) -> Site:
    """A site issuing standalone (``haven trust standalone``), with a deterministic clock and randomness,
    acting with both role keys (a coordinator who may also issue)."""
    store = MemoryStore()
    clock = Clock(now)
    random_bytes = seeded(seed)
    certs = Certificates(store, clock, random_bytes, keys=RoleKeys.generate(random_bytes))
    certs.standalone()
    return Site(store, clock, certs)
