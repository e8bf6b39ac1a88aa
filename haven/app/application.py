"""The application: what one staff member may do at an unlocked site, one area per kind of use case.

Every edge (CLI, web pages, JSON API, the hub's client) calls these and nothing below them: each use
case checks its permission, acts, and writes its audit entry in the same transaction
(:mod:`haven.app.usecase`), so an edge cannot forget either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from haven.app.cards import Cards
from haven.app.certificates import CertificateUseCases
from haven.app.clinic import Clinic
from haven.app.daywork import DayWorkUseCases
from haven.app.export import Export
from haven.app.lots import Lots
from haven.app.reports import Reports
from haven.app.seizure import Seizure
from haven.app.staff import AuditUseCases, SettingsUseCases, StaffUseCases
from haven.app.trust import TrustUseCases
from haven.app.visits import Visits
from haven.cert_services import Certificates
from haven.core.clock import utc_today
from haven.site import tallies
from haven.site.staff import StaffMember

if TYPE_CHECKING:
    from haven.site.site import UnlockedSite
    from haven.sync.service import Sync


class App:
    """Use cases at ``site``, an unlocked site acting as one staff member.

    ``now``, ``today`` and ``random_bytes`` default to the site's (the web app passes its own clock).
    Closing the App closes the site.
    """

    def __init__(
        self,
        site: UnlockedSite,
        *,
        now: Callable[[], dt.datetime] | None = None,
        today: Callable[[], dt.date] | None = None,
        random_bytes: Callable[[int], bytes] | None = None,
    ) -> None:
        self.site = site
        self._now = now
        self._today = today
        self._random_bytes = random_bytes
        self.cards = Cards(self)
        self.visits = Visits(self)
        self.certificates = CertificateUseCases(self)
        self.trust = TrustUseCases(self)
        self.staff = StaffUseCases(self)
        self.audit = AuditUseCases(self)
        self.settings = SettingsUseCases(self)
        self.reports = Reports(self)
        self.day_work = DayWorkUseCases(self)
        self.seizure = Seizure(self)
        self.export = Export(self)
        self.lots = Lots(self)

    AREAS = (
        "cards",
        "visits",
        "certificates",
        "trust",
        "staff",
        "audit",
        "settings",
        "reports",
        "day_work",
        "seizure",
        "export",
        "lots",
    )

    @property
    def sync(self) -> Sync:
        """Sync with the network (membership, roster, bundles, the hub's rows): its use cases check
        :attr:`~haven.site.roles.Permission.SYNC` and write their entries in the same way."""
        from haven.sync.service import Sync

        return Sync(self.site)

    @property
    def member(self) -> StaffMember:
        """Who is acting."""
        return self.site.staff

    def now(self) -> dt.datetime:
        return self._now() if self._now is not None else self.site.site.now()

    def today(self) -> dt.date:
        return self._today() if self._today is not None else utc_today()

    @property
    def random_bytes(self) -> Callable[[int], bytes]:
        return self._random_bytes or self.site.site.random_bytes

    # The domain services the areas work with, bound to this site and this member's role keys.

    def clinic(self) -> Clinic:
        """Visits and histories, their counters sealed to the coordinators."""
        kwargs: dict[str, Any] = {}
        if self._today is not None:
            kwargs["today"] = self._today
        if self._random_bytes is not None:
            kwargs["random_bytes"] = self._random_bytes
        return self.site.clinic(**kwargs)

    def certificates_service(self, now: Callable[[], dt.datetime] | None = None) -> Certificates:
        """Certificates and trust with this member's role keys (a clinician's open the signing keys)."""
        store = self.site.store
        seal = tallies.TallySealer.of(store, self.random_bytes)
        return Certificates(store, now or self.now, self.random_bytes, keys=self.site.keys, seal_counts=seal)

    def close(self) -> None:
        self.site.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
