"""Haven: health records and certificates for people without identity documents.

The public API is what ``__all__`` lists; everything else is internal.
"""

from haven.core.card import Card, parse_card
from haven.core.entries import Visit, parse_visit
from haven.core.history import History
from haven.core.keys import HolderKeys
from haven.errors import (
    CardError,
    EntryError,
    HavenError,
    InputError,
    NoRecordsError,
    PinError,
    SiteError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
)
from haven.services import Clinic
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore

__all__ = [
    "Card",
    "CardError",
    "Clinic",
    "EntryError",
    "HavenError",
    "History",
    "HolderKeys",
    "InputError",
    "MemoryStore",
    "NoRecordsError",
    "PinError",
    "SQLiteStore",
    "SiteError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "Visit",
    "parse_card",
    "parse_visit",
]
