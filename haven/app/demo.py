"""The demo site: a real, encrypted site with demo holders and their visits, for ``haven demo`` (one
account with every role) and ``haven serve --demo`` (one account per role, a duress passphrase for the
clinician, and standalone issuing so that certificates can be tried).

Visits are recorded through the application, as at a real clinic: each with its audit entry.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haven.core.card import Card
from haven.site import passphrase as pp
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.kdf import params_for_new_site
from haven.site.roles import ALL_ROLES, Role

if TYPE_CHECKING:
    from haven.app.application import App
    from haven.site.site import Site

TOUR_STAFF = "demo coordinator"  # ``haven demo``'s one account
PER_ROLE = (("registrar", Role.REGISTRAR), ("clinician", Role.CLINICIAN), ("coordinator", Role.COORDINATOR))
DURESS_STAFF = "clinician"


def demo_visits(today: dt.date) -> list[tuple[str, str | None, list[dict[str, Any]]]]:
    """(words language, PIN, visit documents) for three demo holders."""

    def day(n: int) -> str:
        return (today - dt.timedelta(days=n)).isoformat()

    return [
        (
            "en",
            None,
            [
                {
                    "holder": {"birth_year": 1988, "sex": "female"},
                    "entries": [
                        {"type": "test", "test": "antigen", "result": "negative", "date": day(35)},
                        {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": day(35), "lot": "FJ8529"},
                    ],
                },
                {
                    "entries": [
                        {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": day(10), "lot": "FK0108"},
                        {"type": "vaccination", "product": "td", "dose": 1, "date": day(10)},
                    ]
                },
            ],
        ),
        (
            "ko",
            "4829",
            [
                {
                    "holder": {"age_band": "40-49", "sex": "male"},
                    "entries": [
                        {
                            "type": "consultation",
                            "date": day(3),
                            "symptoms": ["fever", "cough", "loss-of-taste-or-smell"],
                            "severity": "mild",
                            "medicines": ["paracetamol 500 mg"],
                        },
                        {"type": "test", "test": "antigen", "result": "positive", "date": day(3)},
                    ],
                }
            ],
        ),
        (
            "zh",
            None,
            [
                {
                    "holder": {"birth_year": 2001, "sex": "female", "pregnant": False},
                    "entries": [
                        {"type": "vaccination", "product": "mr", "dose": 1, "date": day(40)},
                        {"type": "vaccination", "product": "hepb", "dose": 1, "date": day(40)},
                    ],
                }
            ],
        ),
    ]


@dataclass
class DemoSite:
    """What was made: the site (locked again), its accounts (name, role, passphrase), the duress
    account (per-role demos only) and the holders (words, code, language, PIN)."""

    site: Site
    accounts: list[dict[str, str]]
    holders: list[dict[str, Any]]
    duress: dict[str, str] | None = None


def build_demo(
    folder: SiteFolder,
    today: dt.date,
    settings: SecuritySettings | None = None,
    per_role: bool = False,
    then: Callable[[App, DemoSite], None] | None = None,
) -> DemoSite:
    """A new demo site in ``folder`` (see the module docstring for the two shapes); ``then`` is called
    with the first account's App while the site is still unlocked (the tour reads from it)."""
    from haven.app.application import App
    from haven.site.site import Site

    site = Site(folder) if settings is None else Site(folder, settings)
    calibration = params_for_new_site(site.settings.kdf_profile)
    duress: dict[str, str] | None = None
    if per_role:
        passphrases = {name: pp.suggest() for name, _ in PER_ROLE}
        first, roles = "coordinator", Role.COORDINATOR
        accounts = [{"name": n, "role": r.names()[0], "passphrase": passphrases[n]} for n, r in PER_ROLE]
        duress = {"name": DURESS_STAFF, "passphrase": pp.suggest()}
    else:
        passphrases = {TOUR_STAFF: pp.suggest()}
        first, roles = TOUR_STAFF, ALL_ROLES
        accounts = [{"name": TOUR_STAFF, "role": "coordinator", "passphrase": passphrases[TOUR_STAFF]}]
    holders: list[dict[str, Any]] = []
    with site.create(first, passphrases[first], roles=roles, calibration=calibration) as session:
        app = App(session, today=lambda: today)
        recorder = app
        if per_role and duress is not None:
            members = {
                name: app.staff.add(name, r, passphrases[name], duress["passphrase"] if name == DURESS_STAFF else None)
                for name, r in PER_ROLE
                if name != first
            }
            app.trust.standalone()  # a demo issues alone: its certificates name it
            recorder = App(session.as_staff(members["registrar"]), today=lambda: today)
        for language, pin, docs in demo_visits(today):
            card = Card.generate(secrets.token_bytes, language)
            for n, visit in enumerate(docs):
                recorder.visits.add(card, visit, pin=pin, first_visit=n == 0)
            holders.append({"words": card.words(language), "qr": card.code, "language": language, "pin": pin})
        made = DemoSite(site, accounts, holders, duress)
        if then is not None:
            then(app, made)
    return made
