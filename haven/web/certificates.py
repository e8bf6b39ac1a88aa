"""The certificate seam: choosing facts from a history and asking the site's issuer for a sheet.

Haven issues nothing itself here: :class:`~haven.web.site.CertificateIssuer`
(the certificates work) signs. Without one, :func:`issue` raises
:class:`~haven.errors.UnavailableError` and the pages say so.
"""

from __future__ import annotations

from collections.abc import Iterable

from haven.core.entries import Test, Vaccination
from haven.core.history import History
from haven.errors import InputError, UnavailableError
from haven.web.site import CertificateSheet, Site

MAX_PER_SHEET = 12


def certifiable(history: History) -> list[tuple[str, Vaccination | Test]]:
    """Entries a certificate can state, each with its id ``"<visit index>.<entry number>"``."""
    return [
        (f"{v.index}.{n}", e)
        for v in history.visits
        for n, e in enumerate(v.visit.entries)
        if isinstance(e, Vaccination | Test)
    ]


def issue(site: Site, history: History, chosen: Iterable[str], count: int) -> CertificateSheet:
    """A sheet of ``count`` one-time certificates stating the ``chosen`` entries."""
    if site.certificates is None:
        raise UnavailableError("Certificates cannot be issued at this site yet.")
    wanted = set(chosen)
    entries = [e for key, e in certifiable(history) if key in wanted]
    if not entries or not 1 <= count <= MAX_PER_SHEET:
        raise InputError(f"Choose at least one entry, and 1 to {MAX_PER_SHEET} certificates.", problem="selection")
    return site.certificates.issue_sheet(entries, count, site.now())
