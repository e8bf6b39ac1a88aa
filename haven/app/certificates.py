"""Certificates: issuing one-time batches, verifying any certificate, importing one into a history.

Issuing states facts only (:func:`haven.cert_services.facts_from`) and keeps nothing of what was
issued; its audit entry counts the certificates. ``haven cert issue`` certifies a whole history, the
web pages the entries chosen from it: both sign through one :meth:`haven.cert_services.Certificates.sign`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.cert_services import CertificateSheet, TrustSettings, facts_from
from haven.certs.batch import VACCINATION_VALIDITY_DAYS
from haven.certs.issuers import ExternalIssuer
from haven.certs.result import Verified
from haven.core.card import Card
from haven.core.entries import Test, Vaccination
from haven.core.history import History, entry_id
from haven.errors import InputError
from haven.site.roles import Permission

if TYPE_CHECKING:
    from haven.app.application import App

MAX_PER_SHEET = 12  # certificates on one sheet chosen on a page

# An entry a certificate can state, with its id (:func:`haven.core.history.entry_id`).
Choice = tuple[str, Vaccination | Test]


class CertificateIssuer(Protocol):
    """Issues a batch of one-time certificates for facts from a holder's history (keeps no log)."""

    def issue_sheet(self, entries: Sequence[Vaccination | Test], count: int, now: dt.datetime) -> CertificateSheet:
        """``count`` certificates, each stating ``entries`` (and nothing about the holder)."""
        ...


@dataclass
class SiteIssuer:
    """Signs with the site's current epoch key, opened by the issuing member's role keys."""

    app: App

    def issue_sheet(self, entries: Sequence[Vaccination | Test], count: int, now: dt.datetime) -> CertificateSheet:
        return self.app.certificates_service(now=lambda: now).sign(facts_from(entries), count)


def certifiable(history: History) -> list[Choice]:
    """Entries a certificate can state (as corrected; voided ones not), each with its id."""
    return [(entry_id(v, n), e) for v, n, e in history.current_entries() if isinstance(e, Vaccination | Test)]


class CertificateUseCases(Area):
    @use_case(Permission.CERTIFICATE_ISSUE, Action.CERTIFICATE_ISSUE)
    def issue(
        self,
        card: Card,
        pin: str | None = None,
        count: int = 1,
        what: str = "vaccination",
        valid_days: int = VACCINATION_VALIDITY_DAYS,
        keep: Callable[[list[str]], None] | None = None,
    ) -> list[str]:
        """``count`` one-time certificates of the holder's facts. ``keep`` gets them before the audit
        entry commits (to write a sheet aside): a sheet that cannot be written leaves no entry."""
        with self.change(Action.CERTIFICATE_ISSUE) as entry:
            stubs = self.app.certificates_service().issue(card, pin, count=count, what=what, valid_days=valid_days)
            if keep is not None:
                keep(stubs)
            entry.count = len(stubs)
        return stubs

    @use_case(Permission.CERTIFICATE_ISSUE, None)
    def choices(self, card: Card, pin: str | None = None) -> list[Choice]:
        """What a certificate for this holder can state (read to issue: :meth:`issue_sheet` writes the entry)."""
        return certifiable(self.app.clinic().history(card, pin))

    @use_case(Permission.CERTIFICATE_ISSUE, Action.CERTIFICATE_ISSUE)
    def issue_sheet(
        self, choices: Iterable[Choice], chosen: Iterable[str], count: int, issuer: CertificateIssuer | None = None
    ) -> CertificateSheet:
        """A sheet of ``count`` certificates stating the ``chosen`` ones of ``choices`` (by id)."""
        wanted = set(chosen)
        entries = [e for key, e in choices if key in wanted]
        if not entries or not 1 <= count <= MAX_PER_SHEET:
            raise InputError(f"Choose at least one entry, and 1 to {MAX_PER_SHEET} certificates.", problem="selection")
        with self.change(Action.CERTIFICATE_ISSUE) as entry:
            sheet = (issuer or SiteIssuer(self.app)).issue_sheet(entries, count, self.app.now())
            entry.count = len(sheet.texts)
        return sheet

    @use_case(Permission.CERTIFICATE_IMPORT, Action.CERTIFICATE_IMPORT)
    def import_certificate(
        self,
        card: Card,
        text: str,
        pin: str | None = None,
        at: dt.datetime | None = None,
        extra: Iterable[ExternalIssuer] = (),
        first_visit: bool = False,
    ) -> dict[str, Any]:
        """Verify a certificate, then add its vaccinations to the holder's history (the entry counts them)."""
        with self.change(Action.CERTIFICATE_IMPORT) as entry:
            result = self.app.certificates_service().import_certificate(
                card, text, pin=pin, at=at, extra=extra, first_visit=first_visit
            )
            entry.count = result["imported"]
        return result

    @use_case(Permission.CERTIFICATE_VERIFY, None)
    def verify(self, text: str, at: dt.datetime | None = None, extra: Iterable[ExternalIssuer] = ()) -> Verified:
        """Verify offline against what this site trusts (nothing of the certificate is kept)."""
        return self.app.certificates_service().verify(text, at, extra)

    @use_case(Permission.CERTIFICATE_VERIFY, None)
    def trust_settings(self) -> TrustSettings:
        """The stored trust a verifier is built from (public material: trust list, root, issuers)."""
        return self.app.certificates_service().trust_settings()
