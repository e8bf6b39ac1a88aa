"""Haven: health records and certificates for people without identity documents.

The public API is what ``__all__`` lists; everything else is internal.
"""

from haven.app.clinic import Clinic
from haven.core.card import Card, parse_card
from haven.core.entries import Visit, parse_visit
from haven.core.history import History
from haven.core.keys import HolderKeys
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
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore

__all__ = [
    "AuditTamperedError",
    "AuthError",
    "Card",
    "CardError",
    "CertificateError",
    "Clinic",
    "EntryError",
    "ExpiredCertificate",
    "ForgedCertificate",
    "HavenError",
    "History",
    "HolderKeys",
    "InputError",
    "LockedOutError",
    "MalformedCertificate",
    "MemoryStore",
    "NoRecordsError",
    "NotYetValidCertificate",
    "PermissionDeniedError",
    "PinError",
    "RevokedCertificate",
    "SQLiteStore",
    "SiteError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "TrustError",
    "UnknownIssuer",
    "Visit",
    "WeakPassphraseError",
    "WrongPassphraseError",
    "parse_card",
    "parse_visit",
]
