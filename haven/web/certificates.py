"""Certificates from the web: choosing facts from a history, and the site's issuer.

:class:`SiteIssuer` signs with the site's own trust material, exactly as
``haven cert issue`` does: the facts are built by
:func:`haven.cert_services.facts_from` (the same function the CLI uses, over
the entries chosen on the page), signed with
:meth:`~haven.cert_services.Certificates.current_key` (a site holding the root
rotates to a new epoch key by itself) in one :func:`~haven.certs.batch.issue_batch`.
Nothing of what was issued is kept: no ids, no signatures, no log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from haven.cert_services import Certificates, entry_id, facts_from
from haven.certs.batch import expiry, issue_batch, week_start
from haven.certs.trust import from_timestamp, timestamp
from haven.core.entries import Test, Vaccination
from haven.core.history import History
from haven.errors import InputError
from haven.site.rolekeys import RoleKeys
from haven.site.staff import StaffMember

if TYPE_CHECKING:
    from haven.web.site import CertificateSheet, WebSite

MAX_PER_SHEET = 12


def certifiable(history: History) -> list[tuple[str, Vaccination | Test]]:
    """Entries a certificate can state, each with its id (:func:`haven.cert_services.entry_id`)."""
    return [
        (entry_id(v, n), e)
        for v in history.visits
        for n, e in enumerate(v.visit.entries)
        if isinstance(e, Vaccination | Test)
    ]


def issue(site: WebSite, history: History, chosen: Iterable[str], count: int, staff: StaffMember) -> CertificateSheet:
    """A sheet of ``count`` one-time certificates stating the ``chosen`` entries."""
    wanted = set(chosen)
    entries = [e for key, e in certifiable(history) if key in wanted]
    if not entries or not 1 <= count <= MAX_PER_SHEET:
        raise InputError(f"Choose at least one entry, and 1 to {MAX_PER_SHEET} certificates.", problem="selection")
    return site.issuer(staff).issue_sheet(entries, count, site.now())


@dataclass
class SiteIssuer:
    """Signs with the site's current epoch key (from its trust list and signing keys)."""

    site: WebSite
    keys: RoleKeys  # the issuing clinician's: they open the signing keys

    def issue_sheet(self, entries: Sequence[Vaccination | Test], count: int, now: dt.datetime) -> CertificateSheet:
        from haven.web.site import CertificateSheet

        certs = Certificates(self.site.store, lambda: now, self.site.random_bytes, keys=self.keys)
        facts = facts_from(entries)
        key = certs.current_key()
        moment = timestamp(now)
        texts = issue_batch(facts, key, moment, count, self.site.random_bytes)
        return CertificateSheet(tuple(texts), from_timestamp(expiry(facts, week_start(moment))))
