"""What the web app serves: a site's store and staff, and the seams later work fills.

:class:`Site` is everything ``create_app`` needs besides its settings. Two
seams are left open for other work to connect:

* ``staff`` — a :class:`~haven.web.auth.StaffDirectory` (the site's key slots
  and passphrases); :class:`~haven.web.auth.MemoryStaffDirectory` until then.
* ``certificates`` — a :class:`CertificateIssuer`; without one, the
  certificate pages say certificates are not available here, and
  ``trust_list`` — the signed trust list the offline verifier fetches.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from haven.core.entries import Test, Vaccination
from haven.services import Clinic, utc_today
from haven.store.base import Store
from haven.web.auth import StaffDirectory


@dataclass(frozen=True)
class CertificateSheet:
    """One printed sheet: ``texts`` are the one-time certificates, each printed as its own QR code."""

    texts: tuple[str, ...] = field(repr=False)
    expires: dt.date


class CertificateIssuer(Protocol):
    """Issues a batch of one-time certificates for facts from a holder's history (keeps no log)."""

    def issue_sheet(self, entries: Sequence[Vaccination | Test], count: int, now: dt.datetime) -> CertificateSheet:
        """``count`` certificates, each stating ``entries`` (and nothing about the holder)."""
        ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Site:
    store: Store
    staff: StaffDirectory
    certificates: CertificateIssuer | None = None
    trust_list: Callable[[], bytes | None] | None = None
    today: Callable[[], dt.date] = utc_today
    now: Callable[[], dt.datetime] = utc_now
    clock: Callable[[], float] = time.monotonic
    random_bytes: Callable[[int], bytes] = secrets.token_bytes

    def clinic(self) -> Clinic:
        return Clinic(self.store, today=self.today, random_bytes=self.random_bytes)
