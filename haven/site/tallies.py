"""Counters only coordinators can read: each visit's increments sealed as one tally.

Every visit (and every import batch) adds its counter increments in the same
transaction as its records, so registrars and clinicians must *write* counts;
only coordinators may *read* them (``/counts``). A tally is therefore the padded
encoding of the increments (:func:`haven.core.aggregates.encode_tally`: every
single visit's has one size) sealed with HPKE to the site's coordinator key pair,
the one the audit log is sealed to (:mod:`haven.site.audit`), with its own HPKE
``info`` (``haven/v1/tally/`` and the tally's random id): a sealed audit entry
does not open as a tally, and a tally copied under another id does not open.

A row is ``(id, sealed)``, clustered by the random id: a seized copy plus any
passphrase shows how many tallies there are and their sizes, hence at most how
many visits and import batches were recorded since a coordinator last read the
counts. Reading opens every tally and sums them; a coordinator's read then folds
them into one (the opened tallies deleted, their sum sealed as one new tally, and
an audit entry, in one transaction), so the table stays small and says little.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import x25519

from haven.core.aggregates import AggregateKey, decode_tally, encode_tally
from haven.errors import SiteError, StoreFullError
from haven.site.audit import SUITE
from haven.site.rolekeys import AUDIT_PUBLIC
from haven.store.base import SealedTally, Store

ID_BYTES = 16
INFO = b"haven/v1/tally/"
LEGACY_TABLE = "aggregates_v4"


@dataclass(frozen=True)
class TallySealer:
    """Seals counter increments to the coordinators' public key (what :class:`haven.app.clinic.Clinic` is given)."""

    public: bytes = field(repr=False)
    random_bytes: Callable[[int], bytes] = field(repr=False)

    @classmethod
    def of(cls, store: Store, random_bytes: Callable[[int], bytes]) -> TallySealer:
        return cls(store.get_setting(AUDIT_PUBLIC) or b"", random_bytes)

    def __call__(self, counts: Iterable[AggregateKey] | Mapping[AggregateKey, int]) -> SealedTally:
        if not self.public:
            raise SiteError("This site has no coordinator key to seal its counters to: a coordinator must open it.")
        tally_id = self.random_bytes(ID_BYTES)
        key = x25519.X25519PublicKey.from_public_bytes(self.public)
        return SealedTally(tally_id, bytes(SUITE.encrypt(encode_tally(counts), key, INFO + tally_id)))


def open_tally(private: x25519.X25519PrivateKey, tally: SealedTally) -> Counter[AggregateKey] | None:
    """The increments of one tally, or None if it does not open (damaged, moved, or not sealed here)."""
    try:
        return decode_tally(SUITE.decrypt(tally.sealed, private, INFO + tally.id))
    except Exception:  # any failure to open is the same finding: not a tally of this site
        return None


@dataclass(frozen=True)
class Counts:
    """Counter totals, and how many tallies did not open (they are kept, and left out of the totals)."""

    totals: dict[AggregateKey, int]
    unreadable: int = 0
    below_zero: dict[AggregateKey, int] = field(default_factory=dict)  # not shown (see :func:`read`)


def read(store: Store, private: x25519.X25519PrivateKey) -> tuple[Counts, list[bytes]]:
    """Open and sum every tally; also returns the ids of those that opened."""
    totals: Counter[AggregateKey] = Counter()
    opened: list[bytes] = []
    unreadable = 0
    for tally in store.tallies():
        counts = open_tally(private, tally)
        if counts is None:
            unreadable += 1
            continue
        totals.update(counts)
        opened.append(tally.id)
    # A sum below zero: corrections made here of entries another site counted (docs/reports.md,
    # "Corrections"). Shown as none; kept in the fold, so that it still offsets what comes after.
    below = {k: n for k, n in totals.items() if n < 0}
    return Counts({k: n for k, n in totals.items() if n > 0}, unreadable, below), opened


def read_and_fold(
    store: Store,
    private: x25519.X25519PrivateKey,
    seal: TallySealer,
    audit: Callable[[int], None] | None = None,
) -> Counts:
    """A coordinator's read: the totals, and every tally that opened folded into one.

    The fold deletes the opened tallies and stores their sum as one tally, with its ``audit``
    entry, in one write transaction (a visit added meanwhile is either in it or waits for it).
    On a full disk the totals are still returned; the tallies stay as they were.
    """
    try:
        with store.transaction():
            counts, opened = read(store, private)
            if len(opened) > 1:
                store.replace_tallies(opened, [seal({**counts.totals, **counts.below_zero})])
                if audit is not None:
                    audit(len(opened))
            return counts
    except StoreFullError:
        return read(store, private)[0]


def seal_legacy(store: Store, random_bytes: Callable[[int], bytes]) -> bool:
    """Seal the counters of a site made before tallies (schema 5) into one tally and drop them.

    Any passphrase may do it: sealing takes only the public key. Until a coordinator key exists
    (a site made before keys by role, not yet converted), the counters wait. Returns whether it ran.
    """
    if store.legacy_rows(LEGACY_TABLE) is None or not store.get_setting(AUDIT_PUBLIC):
        return False
    seal = TallySealer.of(store, random_bytes)
    with store.transaction():
        rows = store.legacy_rows(LEGACY_TABLE) or []
        totals = {AggregateKey(*(int(v) for v in row[:5])): int(row[5]) for row in rows}
        store.replace_tallies([], [seal(totals)])
        store.drop_legacy(LEGACY_TABLE)  # its pages are zeroed
    return True
