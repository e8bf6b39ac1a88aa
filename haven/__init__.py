"""Haven: health records and certificates for people without identity documents.

The public API is what ``__all__`` lists; everything else is internal. The front door is the safe
path: :func:`create_site` and :func:`open_site` give an :class:`App` over an encrypted site, acting
as one staff member (every use case checks their role and writes its audit entry), and
:func:`verify` checks a certificate offline.
"""

import datetime as dt
import os
from pathlib import Path as _Path

from haven.app.application import App
from haven.certs.result import Trust, Verified
from haven.core.card import Card, parse_card
from haven.core.entries import Visit, parse_visit
from haven.core.history import History
from haven.errors import (
    AuditTamperedError,
    AuthError,
    CardError,
    CertificateError,
    EntryError,
    ExpiredCertificate,
    ForgedCertificate,
    HavenError,
    InputError,
    LockedOutError,
    MalformedCertificate,
    NoRecordsError,
    NotYetValidCertificate,
    PermissionDeniedError,
    PinError,
    RevokedCertificate,
    SiteError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    TrustError,
    UnknownIssuer,
    WeakPassphraseError,
    WrongPassphraseError,
)
from haven.site.roles import ALL_ROLES as _ALL_ROLES
from haven.site.roles import Role


def create_site(
    folder: str | os.PathLike[str],
    admin: str,
    passphrase: str,
    *,
    roles: Role = _ALL_ROLES,
    duress: str | None = None,
    erase_after: int = 0,
) -> App:
    """A new site in ``folder`` (key slots, SQLCipher database, audit log) with one staff member,
    ``admin``, and the App acting as them. Close it when done (or use ``with``)."""
    from haven.site.config import SecuritySettings
    from haven.site.folder import SiteFolder
    from haven.site.site import Site

    site = Site(SiteFolder(_Path(folder)), SecuritySettings.from_env())
    return App(site.create(admin, passphrase, roles=roles, duress=duress, erase_after=erase_after))


def open_site(folder: str | os.PathLike[str], passphrase: str) -> App:
    """Unlock the site in ``folder`` with a staff passphrase (the backoff, duress and erase-after of
    ``haven`` apply), and the App acting as that staff member. Close it when done (or use ``with``)."""
    from haven.site.config import SecuritySettings
    from haven.site.folder import SiteFolder
    from haven.site.site import Site

    site = Site(SiteFolder(_Path(folder)), SecuritySettings.from_env())
    site.check_present()
    return App(site.unlock(passphrase))


def verify(text: str, trust: Trust | None = None, at: dt.datetime | None = None) -> Verified:
    """Verify a certificate offline (Haven, EU DCC ``HC1:``, SMART Health Card ``shc:/``) against
    ``trust`` (nothing trusted by default: a site's is ``app.certificates.verify``), as of ``at``
    (default now); a :class:`CertificateError` subclass names why it is refused."""
    from haven.certs.verify import verify as verify_text

    return verify_text(text, trust if trust is not None else Trust(), at or dt.datetime.now(dt.UTC))


__all__ = [
    "App",
    "AuditTamperedError",
    "AuthError",
    "Card",
    "CardError",
    "CertificateError",
    "EntryError",
    "ExpiredCertificate",
    "ForgedCertificate",
    "HavenError",
    "History",
    "InputError",
    "LockedOutError",
    "MalformedCertificate",
    "NoRecordsError",
    "NotYetValidCertificate",
    "PermissionDeniedError",
    "PinError",
    "RevokedCertificate",
    "Role",
    "SiteError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "Trust",
    "TrustError",
    "UnknownIssuer",
    "Verified",
    "Visit",
    "WeakPassphraseError",
    "WrongPassphraseError",
    "create_site",
    "open_site",
    "parse_card",
    "parse_visit",
    "verify",
]
