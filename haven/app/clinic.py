"""Use cases: the pure core plus a store, a clock and a source of randomness, all injected.

The CLI and the web app call these and nothing below them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haven.bulk import Job, SealedBatch, seal_batch, seal_batch_in_worker, worker_init
from haven.core.aggregates import AggregateKey, aggregate_keys, decode_tally, encode_tally
from haven.core.card import Card
from haven.core.checks import Prior, check_visit, confirmed
from haven.core.clock import utc_today
from haven.core.entries import Visit, parse_visit
from haven.core.history import History, build_history
from haven.core.keys import HolderKeys
from haven.core.lots import Register
from haven.core.records import Opened, SealedRecord, UnreadableRecord, open_record, seal_correction, seal_visit
from haven.errors import HavenError, InputError, NoRecordsError, SiteError, StoreError
from haven.store.base import SealedTally, Store

if TYPE_CHECKING:
    from haven.hub.pull import Pulled

# Reading walks locators in batches and stops after GAP empty indices in a row,
# so a visit that arrived by sync ahead of its predecessors is still found.
READ_BATCH = 32
GAP = 8


# Writes one audit entry covering ``count`` things, inside the caller's open write transaction.
Audit = Callable[[int], None]

# Turns counter increments into a tally to store: a site's seals them to those who may read counts
# (haven/site/tallies.py); the store never sees a count.
SealCounts = Callable[[list[AggregateKey] | Mapping[AggregateKey, int]], SealedTally]
# The same increments sealed once more, to the network counts key, as one more row of the records set
# (haven/sync/network_tallies.py): only at a site whose network keeps network counts.
SealNetwork = Callable[[list[AggregateKey] | Mapping[AggregateKey, int]], SealedRecord]


def unsealed_tally(counts: list[AggregateKey] | Mapping[AggregateKey, int]) -> SealedTally:
    """A tally left readable: for a store outside any site (tests, benchmarks), never a site's."""
    return SealedTally(secrets.token_bytes(16), encode_tally(counts))


def unsealed_counts(store: Store) -> dict[AggregateKey, int]:
    """The totals of a store's unsealed tallies (see :func:`unsealed_tally`)."""
    totals: Counter[AggregateKey] = Counter()
    for tally in store.tallies():
        totals.update(decode_tally(tally.sealed))
    return dict(totals)


@dataclass(frozen=True)
class AddedVisit:
    index: int
    entries: int
    first: bool
    hub: Pulled | None = None  # the pull from the site's hub before the write (haven/hub/pull.py)

    def to_doc(self) -> dict[str, Any]:
        doc = {"index": self.index, "entries": self.entries, "first_visit": self.first, "stored": True}
        return doc if self.hub is None else {**doc, "hub": self.hub.to_doc()}


@dataclass(frozen=True)
class Corrected:
    entry: str  # the entry's id, which stays the same however often it is corrected
    kind: str
    index: int  # the correction's own record index

    def to_doc(self) -> dict[str, Any]:
        return {"entry": self.entry, "kind": self.kind, "index": self.index, "stored": True}


@dataclass
class Clinic:
    """Cards, visits and histories at one site.

    ``seal_counts`` makes each visit's (and each import batch's) tally; a site's sessions give one
    that seals to the coordinators (:meth:`haven.site.site.UnlockedSite.clinic`). Without one, histories
    read but nothing is written: counters are never stored in the clear by default. ``seal_network``
    (None: no network counts) adds each one's network tally row beside its records.
    """

    store: Store
    today: Callable[[], dt.date] = utc_today
    random_bytes: Callable[[int], bytes] = field(default=secrets.token_bytes)
    seal_counts: SealCounts | None = None
    seal_network: SealNetwork | None = None

    # ------------------------------------------------------------ cards

    def new_card(self, language: str = "en") -> Card:
        """A fresh card. Nothing is stored: the card exists once its first visit is recorded."""
        return Card.generate(self.random_bytes, language)

    # ------------------------------------------------------------ reading

    def _read(self, keys: HolderKeys) -> tuple[list[Opened], int]:
        opened, unreadable, _ = self._read_all(keys)
        return opened, unreadable

    def _read_all(self, keys: HolderKeys) -> tuple[list[Opened], int, int]:
        """Opened records (visits and corrections), how many did not open, and the highest index seen (-1: none)."""
        opened: list[Opened] = []
        unreadable = 0
        start, last_hit = 0, -1
        while True:
            locators = keys.locators(start, READ_BATCH)
            where = {loc: start + i for i, loc in enumerate(locators)}
            for record in self.store.find(locators):
                index = where[record.locator]
                last_hit = max(last_hit, index)
                try:
                    opened.append(open_record(keys, record, index))
                except UnreadableRecord:
                    unreadable += 1
            start += READ_BATCH
            if start - 1 - last_hit >= GAP:
                return opened, unreadable, last_hit

    def history(self, card: Card, pin: str | None = None) -> History:
        """The holder's whole history; :class:`NoRecordsError` if there is none (or the PIN is wrong)."""
        keys = HolderKeys.derive(card, pin)
        opened, unreadable = self._read(keys)
        if not opened and not unreadable:
            raise NoRecordsError()
        return build_history(opened, self.today(), unreadable)

    def has_records(self, card: Card, pin: str | None = None) -> bool:
        """Whether this card (with this PIN) has any record here; nothing is opened."""
        return self._next_index(HolderKeys.derive(card, pin)) > 0

    # ------------------------------------------------------------ writing

    def add_visit(
        self,
        card: Card,
        doc: Any,
        pin: str | None = None,
        first_visit: bool = False,
        trusted: bool = False,
        audit: Audit | None = None,
        checks: Callable[[History, dt.date], Prior] | None = None,
        confirm: str | None = None,
        register: Register | None = None,
    ) -> AddedVisit:
        """Validate and record one visit, whole or not at all, with its ``audit`` entry.

        A card with no records here is refused (an unknown card and a wrong PIN
        look alike) unless ``first_visit`` says staff are starting its history.
        ``trusted`` admits ``verified_external`` (certificate import only).
        The index is read, and the record and its audit entry written, in one
        write transaction: two staff adding to one card never get the same index,
        and an error means neither the visit nor its audit entry was stored.

        ``checks`` makes what the checks before saving know of the holder from their history (all of it
        or only the doses due, as the staff member may see): a visit they warn about is stored only with
        a ``confirm`` reason, kept in its record (:func:`haven.core.checks.confirmed`). Without ``checks``,
        nothing is checked (an imported certificate records what another site gave). With the site's lot
        ``register``, a dose from an expired lot is refused, one from a lot not in it warns, and each
        dose from a registered lot is counted for its lot.
        """
        today = self.today()
        visit = parse_visit(doc, today, trusted=trusted)
        register = register or Register()
        register.refuse_expired(visit)
        keys = HolderKeys.derive(card, pin)
        with self.store.transaction():
            opened, unreadable, last = self._read_all(keys)
            if not opened and not unreadable and not first_visit:
                raise NoRecordsError(
                    "No records for this card. If this is the holder's first visit here, record it as a first visit."
                )
            if checks is not None:
                prior = checks(build_history(opened, today, unreadable), today)
                visit = confirmed(visit, check_visit(visit, prior, register.known()), confirm)
            index = last + 1
            record, counts = self._seal(keys, index, visit, today)
            counts += register.usage_keys(visit)
            tally = self._tally(counts)  # a tally even for no counts: all look alike
            self.store.add([record, *self._network_rows(counts)], [tally])
            if audit is not None:
                audit(1)
        return AddedVisit(index=index, entries=len(visit.entries), first=not opened)

    def correct(
        self,
        card: Card,
        entry: str,
        kind: str,
        doc: Any = None,
        reason: Any = None,
        pin: str | None = None,
        audit: Audit | None = None,
    ) -> Corrected:
        """Amend (``doc``: the entry as it should be, of the same type) or void (with a ``reason``) the entry
        ``entry`` names (:func:`haven.core.history.entry_id`), as a new sealed record of the holder's.

        Read, checked and written with its tally (the counters' change, also sealed as a network tally row
        where the network keeps network counts) and its ``audit`` entry in one write transaction, as a visit
        is: an error stores nothing.
        """
        today = self.today()
        keys = HolderKeys.derive(card, pin)
        with self.store.transaction():
            opened, unreadable, last = self._read_all(keys)
            if not opened and not unreadable:
                raise NoRecordsError()
            correction, counts = build_history(opened, today, unreadable).correction(entry, kind, doc, reason, today)
            record = seal_correction(keys, last + 1, correction, today, self.random_bytes)
            tally = self._tally(counts)
            self.store.add([record, *self._network_rows(counts)], [tally])  # as a visit's: all look alike
            if audit is not None:
                audit(1)
        return Corrected(entry=entry, kind=kind, index=last + 1)

    def _tally(self, counts: list[AggregateKey] | Mapping[AggregateKey, int]) -> SealedTally:
        if self.seal_counts is None:
            raise SiteError("Visits cannot be recorded here: nothing seals their counters (open the site first).")
        return self.seal_counts(counts)

    def _network_rows(self, counts: list[AggregateKey] | Mapping[AggregateKey, int]) -> list[SealedRecord]:
        return [] if self.seal_network is None else [self.seal_network(counts)]

    def _seal(
        self, keys: HolderKeys, index: int, visit: Visit, today: dt.date
    ) -> tuple[SealedRecord, list[AggregateKey]]:
        return seal_visit(keys, index, visit, today, self.random_bytes), aggregate_keys(visit)

    def _next_index(self, keys: HolderKeys) -> int:
        """The index the next visit of this holder gets (presence only: nothing is opened).

        Probes the first GAP indices first: for a card new to this site (most
        cards in an import) that one small query is all it takes.
        """
        start, count, last_hit = 0, GAP, -1
        while True:
            locators = keys.locators(start, count)
            where = {loc: start + i for i, loc in enumerate(locators)}
            for record in self.store.find(locators):
                last_hit = max(last_hit, where[record.locator])
            start += count
            if start - 1 - last_hit >= GAP:
                return last_hit + 1
            count = READ_BATCH

    def import_visits(
        self,
        items: Iterable[tuple[Card, Any, str | None]],
        batch: int = 2000,
        progress: Callable[[int], None] | None = None,
        workers: int = 0,
        audit: Audit | None = None,
        checkpoint: Callable[[int], None] | None = None,
    ) -> int:
        """Bulk-record visits (card, visit document, PIN), committing every ``batch`` visits.

        Cards without records start a history (an import is a first visit).
        Batches are written in input order, each in one transaction with its
        ``audit`` entry and a ``checkpoint`` call (given how many items are
        committed so far, so it can record where a rerun resumes). A bad visit
        stops the import: the batches before its own are kept, nothing of its
        batch is. The error's ``details`` then carry ``item`` (0-based position
        in ``items``) and ``imported``; a storage error carries ``imported``
        only (no item is to blame). With ``workers`` > 0, validation and sealing
        run on that many worker processes while this one reads ahead and writes.
        """
        if batch < 1:
            raise InputError(f"A batch is 1 or more visits (not {batch}).")
        today = self.today()
        holders: dict[tuple[bytes, str | None], list[Any]] = {}  # -> [keys, next index]
        done = 0
        consumed = 0

        def batches() -> Iterator[list[Job]]:
            nonlocal consumed
            jobs: list[Job] = []
            for card, doc, pin in items:
                slot = (card.secret, pin)
                state = holders.get(slot)
                if state is None:
                    keys = HolderKeys.derive(card, pin)
                    state = holders[slot] = [keys, self._next_index(keys)]
                jobs.append((state[0].locator_key, state[0].record_key, state[1], doc))
                state[1] += 1
                consumed += 1
                if len(jobs) >= batch:
                    yield jobs
                    jobs = []
            if jobs:
                yield jobs

        def write(result: SealedBatch) -> None:
            nonlocal done
            try:
                tally = self._tally(result.counts)  # one per batch, sealed before the write lock is taken
                network = self._network_rows(result.counts)
                with self.store.transaction():
                    # Indexes were given out before this lock was taken: if another writer stored a
                    # visit of one of these holders meanwhile, one of them is taken. Refuse the batch
                    # rather than give two visits one index; a rerun reads the indexes afresh.
                    if self.store.find([r.locator for r in result.records]):
                        raise StoreError(
                            "Visits of a holder in this batch were recorded at the same time by someone else; "
                            "nothing of this batch was saved."
                        )
                    self.store.add([*result.records, *network], [tally])
                    if audit is not None:
                        audit(len(result.records))
                    if checkpoint is not None:
                        checkpoint(done + len(result.records))
            except HavenError as exc:
                raise _WriteFailure(exc) from None
            done += len(result.records)
            if progress:
                progress(done)

        try:
            if workers <= 0:
                for jobs in batches():
                    _write_checked(seal_batch(jobs, today, self.random_bytes), write)
            else:
                self._import_parallel(batches(), today, workers, write)
        except _BatchFailure as failure:
            # Batches are written in order, so the failed batch starts at item ``done``.
            failure.cause.details.update(item=done + failure.error_at, imported=done)
            raise failure.cause from None
        except _WriteFailure as failure:
            failure.cause.details.update(imported=done)
            raise failure.cause from None
        except HavenError as exc:
            # Raised while reading the input: the item after the last one read is the bad one.
            exc.details.update(item=consumed, imported=done)
            raise
        return done

    @staticmethod
    def _import_parallel(
        batches: Iterator[list[Job]],
        today: dt.date,
        workers: int,
        write: Callable[[SealedBatch], None],
    ) -> None:
        """Three stages at once: this thread reads and assigns indexes, worker processes seal,
        a writer thread commits in input order (SQLite releases the GIL while it works).

        Workers die with this process (see :func:`haven.bulk.worker_init`): they hold holders' keys."""
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_init,
            initargs=(os.getpid(),),
        ) as pool:
            writer = _OrderedWriter(write, capacity=workers + 1)
            try:
                while True:
                    try:
                        jobs = next(batches)
                    except StopIteration:
                        break
                    except HavenError:
                        # A bad line: the batches read before it are still written, as without workers
                        # (an error the writer met in one of them, earlier in the input, wins).
                        writer.finish()
                        raise
                    writer.put(pool.submit(seal_batch_in_worker, jobs, today))
                writer.finish()
            finally:
                writer.abandon()


class _OrderedWriter:
    """A thread that writes sealed batches in the order they were submitted.

    ``put`` blocks while ``capacity`` batches are in flight (bounding memory) and
    re-raises, in the calling thread, the first error the writer met.
    """

    def __init__(self, write: Callable[[SealedBatch], None], capacity: int) -> None:
        import queue
        import threading

        self._write = write
        self._queue: queue.Queue[Future[SealedBatch] | None] = queue.Queue(maxsize=max(1, capacity))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="haven-import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (future := self._queue.get()) is not None:
            if self._error is not None:
                future.cancel()
                continue
            try:
                _write_checked(future.result(), self._write)
            except BaseException as exc:  # handed to the importing thread
                self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, future: Future[SealedBatch]) -> None:
        self._check()
        self._queue.put(future)

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._check()

    def abandon(self) -> None:
        """After an error in the importing thread: let the writer stop without writing more."""
        if self._thread.is_alive():
            self._error = self._error or _Abandoned()
            self._queue.put(None)
            self._thread.join()


class _Abandoned(Exception):
    """The importing thread stopped; the writer discards what is left."""


class _WriteFailure(HavenError):
    """A storage error while committing a batch (the input is not to blame)."""

    def __init__(self, cause: HavenError) -> None:
        super().__init__(cause.message)
        self.cause = cause


class _BatchFailure(HavenError):
    """Carries a worker's validation error and where in its batch it happened."""

    def __init__(self, cause: HavenError, error_at: int) -> None:
        super().__init__(cause.message)
        self.cause = cause
        self.error_at = error_at


def _write_checked(result: SealedBatch, write: Callable[[SealedBatch], None]) -> None:
    if result.error is not None:
        raise _BatchFailure(result.error, result.error_at)
    write(result)


def iter_jsonl(lines: Iterable[str], numbers: list[int] | None = None) -> Iterator[tuple[int, Any]]:
    """Number and parse the non-blank lines of a JSON Lines file.

    ``numbers``, when given, receives the line number of every object before it
    is parsed, so a caller can map an item's position back to its line.
    """
    from haven.core import strictjson

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if numbers is not None:
            numbers.append(number)
        yield number, strictjson.loads(line)
