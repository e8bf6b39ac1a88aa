"""Haven: health records and certificates for people without identity documents.

The public API is what ``__all__`` lists; everything else is internal.
"""

from haven.core.card import Card, parse_card
from haven.core.entries import Visit, parse_visit
from haven.core.history import History
from haven.core.keys import HolderKeys
from haven.errors import (
    AuditTamperedError,
    AuthError,
    CardError,
    EntryError,
    HavenError,
    InputError,
    LockedOutError,
    NoRecordsError,
    PermissionDeniedError,
    PinError,
    SiteError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    WeakPassphraseError,
    WrongPassphraseError,
)
from haven.services import Clinic
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore

__all__ = [
    "AuditTamperedError",
    "AuthError",
    "Card",
    "CardError",
    "Clinic",
    "EntryError",
    "HavenError",
    "History",
    "HolderKeys",
    "InputError",
    "LockedOutError",
    "MemoryStore",
    "NoRecordsError",
    "PermissionDeniedError",
    "PinError",
    "SQLiteStore",
    "SiteError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "Visit",
    "WeakPassphraseError",
    "WrongPassphraseError",
    "parse_card",
    "parse_visit",
]
