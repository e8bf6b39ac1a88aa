"""Haven: health records and certificates for people without identity documents.

The public API is what ``__all__`` lists; everything else is internal.
"""

from haven.core.card import Card, parse_card
from haven.core.entries import Visit, parse_visit
from haven.core.history import History
from haven.core.keys import HolderKeys
from haven.errors import (
    CardError,
    CertificateError,
    EntryError,
    ExpiredCertificate,
    ForgedCertificate,
    HavenError,
    InputError,
    MalformedCertificate,
    NoRecordsError,
    NotYetValidCertificate,
    PinError,
    RevokedCertificate,
    SiteError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    TrustError,
    UnknownIssuer,
)
from haven.services import Clinic
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore

__all__ = [
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
    "MalformedCertificate",
    "MemoryStore",
    "NoRecordsError",
    "NotYetValidCertificate",
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
    "parse_card",
    "parse_visit",
]
