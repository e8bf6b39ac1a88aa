"""Use cases: recording visits and reading histories through the Clinic service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from haven.app.clinic import GAP, Clinic, unsealed_counts, unsealed_tally
from haven.core.card import Card, parse_card
from haven.core.keys import HolderKeys
from haven.errors import CardError, EntryError, NoRecordsError, PinError
from haven.store.memory import MemoryStore
from tests.helpers_clock import TODAY, seeded

VAX1 = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]
VAX2 = [{"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-25"}]
TEST = [{"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-02"}]


class SpyStore(MemoryStore):
    """Counts every call that reaches storage."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def find(self, locators: Any) -> Any:
        self.calls.append("find")
        return super().find(locators)

    def add(self, records: Any, counts: Any) -> None:
        self.calls.append("add")
        super().add(records, counts)


def test_history_round_trip(clinic: Clinic, card: Card) -> None:
    clinic.add_visit(card, {"holder": {"birth_year": 1990, "sex": "female"}, "entries": VAX1}, first_visit=True)
    clinic.add_visit(card, VAX2 + TEST)
    history = clinic.history(card)
    assert [v.index for v in history.visits] == [0, 1]
    doc = history.to_doc()
    assert doc["visits"][1]["entries"][1] == {
        "type": "test",
        "test": "antigen",
        "result": "negative",
        "date": "2026-11-02",
    }
    assert doc["holder"] == {"birth_year": 1990, "sex": "female"}
    # Two doses of a two-dose product: a booster for high-priority groups is what comes next.
    assert doc["next_due"][0]["kind"] == "booster"


def test_unknown_card_reads_nothing_and_writes_nothing(clinic: Clinic, card: Card) -> None:
    with pytest.raises(NoRecordsError):
        clinic.history(card)
    with pytest.raises(NoRecordsError):
        clinic.add_visit(card, VAX1)
    assert list(clinic.store.records()) == []
    assert clinic.store.tallies() == []


def test_wrong_pin_looks_like_an_unknown_card_and_writes_nothing(clinic: Clinic, card: Card) -> None:
    clinic.add_visit(card, VAX1, pin="2468", first_visit=True)
    before = list(clinic.store.records())
    with pytest.raises(NoRecordsError) as wrong_pin:
        clinic.history(card, pin="1357")
    with pytest.raises(NoRecordsError) as no_pin:
        clinic.history(card)
    with pytest.raises(NoRecordsError) as unknown:
        clinic.history(Card(bytes(16)))
    assert wrong_pin.value.message == no_pin.value.message == unknown.value.message
    with pytest.raises(NoRecordsError):
        clinic.add_visit(card, VAX2, pin="1357")
    assert list(clinic.store.records()) == before
    assert len(clinic.history(card, pin="2468").visits) == 1


def test_pin_rules() -> None:
    store = MemoryStore()
    clinic = Clinic(store, today=lambda: TODAY, seal_counts=unsealed_tally)
    with pytest.raises(PinError):
        clinic.add_visit(Card(bytes(16)), VAX1, pin="12", first_visit=True)
    assert list(store.records()) == []


def test_bad_card_is_refused_before_any_lookup() -> None:
    spy = SpyStore()
    card = Card(bytes(range(16)))
    words = card.words()
    words[2], words[3] = words[3], words[2]
    with pytest.raises(CardError):
        parse_card(" ".join(words))
    assert spy.calls == []


def test_malformed_visit_is_refused_whole_before_any_lookup(card: Card) -> None:
    spy = SpyStore()
    clinic = Clinic(spy, today=lambda: TODAY, seal_counts=unsealed_tally)
    bad = [*VAX1, {"type": "test", "test": "antigen", "result": "maybe", "date": "2026-11-02"}]
    with pytest.raises(EntryError) as err:
        clinic.add_visit(card, bad, first_visit=True)
    assert err.value.field == "entries[1].result"
    assert spy.calls == []
    assert list(spy.records()) == []


def test_two_offline_writers_of_the_same_index_both_survive_a_merge(card: Card) -> None:
    site_a = Clinic(MemoryStore(), today=lambda: TODAY, random_bytes=seeded(10), seal_counts=unsealed_tally)
    site_b = Clinic(MemoryStore(), today=lambda: TODAY, random_bytes=seeded(20), seal_counts=unsealed_tally)
    site_a.add_visit(card, VAX1, first_visit=True)
    assert site_b.store.merge(site_a.store.records()) == 1
    # Both sites now write visit index 1 while offline.
    assert site_a.add_visit(card, VAX2).index == 1
    assert site_b.add_visit(card, TEST).index == 1
    site_a.store.merge(site_b.store.records())
    site_b.store.merge(site_a.store.records())
    for site in (site_a, site_b):
        history = site.history(card)
        assert [v.index for v in history.visits] == [0, 1, 1]
        kinds = sorted(e.type for v in history.visits for e in v.visit.entries)
        assert kinds == ["test", "vaccination", "vaccination"]
        assert site.add_visit(card, [{"type": "note", "text": "follow-up", "date": "2026-11-29"}]).index == 2
    # Merging is idempotent.
    assert site_a.store.merge(site_a.store.records()) == 0


def test_visits_arriving_out_of_order_are_found_within_the_gap(card: Card) -> None:
    origin = Clinic(MemoryStore(), today=lambda: TODAY, random_bytes=seeded(3), seal_counts=unsealed_tally)
    origin.add_visit(card, VAX1, first_visit=True)
    for _ in range(GAP):
        origin.add_visit(card, TEST)
    keys = HolderKeys.derive(card)
    records = list(origin.store.records())
    missing = keys.locator(1)
    partial = MemoryStore()
    partial.merge(r for r in records if r.locator != missing)
    history = Clinic(partial, today=lambda: TODAY, seal_counts=unsealed_tally).history(card)
    assert [v.index for v in history.visits] == [0, *range(2, GAP + 1)]


def test_damaged_record_is_counted_not_fatal(card: Card) -> None:
    from haven.core.records import SealedRecord

    store = MemoryStore()
    clinic = Clinic(store, today=lambda: TODAY, seal_counts=unsealed_tally)
    clinic.add_visit(card, VAX1, first_visit=True)
    clinic.add_visit(card, VAX2)
    rec = next(r for r in store.records() if r.locator == HolderKeys.derive(card).locator(1))
    damaged = SealedRecord(rec.locator, bytes(16), rec.sealed[:-1] + bytes([rec.sealed[-1] ^ 1]))
    store.merge([damaged])
    history = clinic.history(card)
    assert history.unreadable == 1
    assert len(history.visits) == 2


def test_aggregates_count_activity_without_people(clinic: Clinic, card: Card) -> None:
    clinic.add_visit(card, {"holder": {"birth_year": 1990}, "entries": VAX1 + TEST}, first_visit=True)
    other = Card(bytes(range(1, 17)))
    clinic.add_visit(other, {"holder": {"age_band": "30-39"}, "entries": TEST}, first_visit=True)
    from haven.core.aggregates import describe

    counts = {tuple(sorted(describe(k).items())): n for k, n in unsealed_counts(clinic.store).items()}
    test_key = tuple(sorted({"week": "2026-W45", "kind": "test", "test": "antigen", "result": "negative",
                             "age_band": "30-39"}.items()))  # fmt: skip
    assert counts[test_key] == 2
    assert sum(counts.values()) == 3


def test_import_many_visits_continues_histories(card: Card) -> None:
    store = MemoryStore()
    clinic = Clinic(store, today=lambda: TODAY, seal_counts=unsealed_tally)
    clinic.add_visit(card, VAX1, first_visit=True)
    other = Card(bytes(range(1, 17)))
    items = [(card, VAX2, None), (other, TEST, None), (other, VAX1, None), (card, TEST, None)]
    done: list[int] = []
    assert clinic.import_visits(items, batch=3, progress=done.append) == 4
    assert done == [3, 4]
    assert [v.index for v in clinic.history(card).visits] == [0, 1, 2]
    assert [v.index for v in clinic.history(other).visits] == [0, 1]


@pytest.mark.parametrize("workers", [0, 2])
def test_import_stops_at_a_bad_visit_keeping_whole_batches(card: Card, workers: int) -> None:
    store = MemoryStore()
    clinic = Clinic(store, today=lambda: TODAY, seal_counts=unsealed_tally)
    bad = [{"type": "vaccination", "product": "nope", "dose": 1, "date": "2026-10-01"}]
    items = [(card, VAX1, None), (card, VAX2, None), (card, TEST, None), (card, bad, None), (card, TEST, None)]
    with pytest.raises(EntryError) as err:
        clinic.import_visits(items, batch=2, workers=workers)
    assert err.value.field == "entries[0].product"
    assert err.value.details["item"] == 3 and err.value.details["imported"] == 2
    assert len(list(store.records())) == 2  # the first batch; nothing of the failed one


def test_parallel_import_matches_sequential(card: Card) -> None:
    others = [Card(bytes([n]) * 16) for n in range(1, 6)]
    items = [(c, VAX1 if i % 2 else TEST, None) for i in range(30) for c in [card, *others][i % 6 : i % 6 + 1]]
    results = []
    for workers in (0, 2):
        store = MemoryStore()
        clinic = Clinic(store, today=lambda: TODAY, seal_counts=unsealed_tally)
        assert clinic.import_visits(items, batch=4, workers=workers) == 30
        results.append([[e.type for v in clinic.history(c).visits for e in v.visit.entries] for c in [card, *others]])
        assert sum(unsealed_counts(store).values()) == 30
        assert len(store.tallies()) == 8  # one per batch of 4
    assert results[0] == results[1]


def test_clock_is_injected(card: Card) -> None:
    later = Clinic(MemoryStore(), today=lambda: dt.date(2026, 10, 10), seal_counts=unsealed_tally)
    with pytest.raises(EntryError, match="future"):
        later.add_visit(card, TEST, first_visit=True)


def test_parallel_import_stopped_by_bad_input_keeps_exactly_what_it_reports(card: Card, tmp_path: Any) -> None:
    """A bad item in the input (not a bad visit) while batches are still in flight: what the error says was
    imported is exactly what the store holds, and the writer thread stops cleanly."""
    from haven.errors import CardError
    from haven.store.sqlite import SQLiteStore

    def items() -> Any:
        for n in range(9):
            yield card, TEST, None
            if n == 6:
                raise CardError("bad card on line 8")

    store = SQLiteStore(tmp_path / "site.db")
    try:
        clinic = Clinic(store, today=lambda: TODAY, seal_counts=unsealed_tally)
        with pytest.raises(CardError) as err:
            clinic.import_visits(items(), batch=2, workers=1)
        assert err.value.details["item"] == 7
        imported = err.value.details["imported"]
        assert imported in (0, 2, 4, 6)
        assert len(list(store.records())) == imported
    finally:
        store.close()
