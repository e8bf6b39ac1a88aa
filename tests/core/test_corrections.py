"""Corrections in the core: amend and void as sealed records, chains of corrections, and one result
whatever order the records arrive in."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.core.card import Card
from haven.core.corrections import AMEND, VOID, Correction, Made, parse_correction, resolve
from haven.core.entries import Test, Vaccination, Visit
from haven.core.history import build_history, entry_id
from haven.core.keys import HolderKeys
from haven.core.records import OpenedCorrection, open_record, seal_correction, seal_visit
from haven.errors import EntryError
from tests.helpers_clock import seeded

DAY = dt.date(2026, 11, 2)
KEYS = HolderKeys.derive(Card(bytes(range(16))))
DOSE1 = Vaccination("comirnaty", 1, dt.date(2026, 10, 1), lot="FJ8529")
DOSE2 = Vaccination("comirnaty", 2, dt.date(2026, 10, 25))
TEST = Test("antigen", "negative", DAY)


def opened_history(*parts: Visit | Correction, on: dt.date = DAY) -> list[object]:
    """Seal and open records 0, 1, ... (visits and corrections), as a site reads them."""
    rand = seeded(7)
    out = []
    for index, part in enumerate(parts):
        if isinstance(part, Visit):
            record = seal_visit(KEYS, index, part, on, rand)
        else:
            record = seal_correction(KEYS, index, part, on, rand)
        out.append(open_record(KEYS, record, index))
    return out


def test_an_amend_replaces_the_entry_and_keeps_the_original_in_the_history() -> None:
    first = opened_history(Visit((DOSE1, TEST)))
    visit_id = first[0].id  # type: ignore[attr-defined]
    fixed = Vaccination("comirnaty", 1, dt.date(2026, 10, 2), lot="FJ8530")
    records = [*first, *opened_history(Visit((TEST,)), Correction(visit_id, 0, AMEND, fixed, "lot misread"))[1:]]
    history = build_history(records, DAY)  # type: ignore[arg-type]
    assert history.visits[0].visit.entries == (fixed, TEST)
    shown = history.to_doc()["visits"][0]["entries"][0]
    assert shown["lot"] == "FJ8530" and shown["date"] == "2026-10-02"
    assert shown["corrected"]["original"]["lot"] == "FJ8529" and shown["corrected"]["reason"] == "lot misread"
    assert history.next_index == 2


def test_a_void_drops_the_entry_from_the_facts_and_shows_it_voided() -> None:
    visit = opened_history(Visit((DOSE1, DOSE2)))
    records = [*visit, *opened_history(Visit((TEST,)), Correction(visit[0].id, 1, VOID, reason="wrong card"))[1:]]  # type: ignore[attr-defined]
    history = build_history(records, DAY)  # type: ignore[arg-type]
    assert history.visits[0].visit.entries == (DOSE1,)
    entries = history.to_doc()["visits"][0]["entries"]
    assert entries[1]["dose"] == 2 and entries[1]["voided"] == {"on": DAY.isoformat(), "reason": "wrong card"}
    # The voided second dose no longer counts: the second dose is due again.
    assert [(d.product, d.dose) for d in history.next_due] == [("comirnaty", 2)]


def test_a_correction_of_a_correction_wins_and_a_void_of_an_amend_shows_the_amended_value() -> None:
    rand = seeded(3)
    visit = open_record(KEYS, seal_visit(KEYS, 0, Visit((DOSE1,)), DAY, rand), 0)
    amended = Vaccination("comirnaty", 1, DOSE1.date, lot="A2")
    first = open_record(KEYS, seal_correction(KEYS, 1, Correction(visit.id, 0, AMEND, DOSE2), DAY, rand), 1)
    second = open_record(
        KEYS, seal_correction(KEYS, 2, Correction(visit.id, 0, AMEND, amended, supersedes=first.id), DAY, rand), 2
    )
    history = build_history([visit, first, second], DAY)
    assert history.visits[0].visit.entries == (amended,)
    void = Correction(visit.id, 0, VOID, reason="duplicate", supersedes=second.id)
    third = open_record(KEYS, seal_correction(KEYS, 3, void, DAY, rand), 3)
    history = build_history([visit, first, second, third], DAY)
    assert history.visits[0].visit.entries == ()
    assert history.to_doc()["visits"][0]["entries"][0]["lot"] == "A2"  # what it was when voided
    assert [e for _, _, e in history.current_entries()] == []


def test_a_correction_record_looks_like_a_visit_record() -> None:
    """Sealed and padded alike: its size does not tell a correction from a one-entry visit."""
    rand = seeded(5)
    visit = seal_visit(KEYS, 0, Visit((DOSE1,)), DAY, rand)
    correction = seal_correction(KEYS, 1, Correction(visit.id, 0, AMEND, DOSE2, "typo"), DAY, rand)
    assert len(correction.sealed) == len(visit.sealed) and correction.locator == KEYS.locator(1)
    assert visit.id not in correction.sealed  # the target is named inside the sealed bytes only
    assert isinstance(open_record(KEYS, correction, 1), OpenedCorrection)


def test_a_correction_document_is_checked_like_an_entry() -> None:
    target = bytes(16)
    with pytest.raises(EntryError, match="reason: is required"):
        parse_correction({"target": target, "entry": 0, "kind": "void"}, DAY)
    with pytest.raises(EntryError, match=r"replacement\.dose: must be between 1 and 10"):
        parse_correction({"target": target, "entry": 0, "kind": AMEND, "replacement": {**_doc(DOSE1), "dose": 0}}, DAY)
    with pytest.raises(EntryError, match=r"correction\.target"):
        parse_correction({"target": b"short", "entry": 0, "kind": "void", "reason": "x"}, DAY)
    with pytest.raises(EntryError, match=r"correction\.name: is not a known field"):
        parse_correction({"target": target, "entry": 0, "kind": "void", "reason": "x", "name": "Ana"}, DAY)


def _doc(entry: Vaccination) -> dict[str, object]:
    return {"type": "vaccination", "product": entry.product, "dose": entry.dose, "date": entry.date.isoformat()}


def test_the_history_plans_a_correction_with_its_counter_change() -> None:
    records = opened_history(Visit((DOSE1, TEST)))
    history = build_history(records, DAY)  # type: ignore[arg-type]
    first = entry_id(history.visits[0], 0)
    correction, counts = history.correction(first, AMEND, {**_doc(DOSE1), "dose": 2}, None, DAY)
    assert correction.target == history.visits[0].id and correction.entry == 0 and correction.supersedes is None
    assert sorted(counts.values()) == [-1, 1]  # the dose 1 cell loses one, the dose 2 cell gains one
    _, counts = history.correction(entry_id(history.visits[0], 1), VOID, None, "wrong holder", DAY)
    assert list(counts.values()) == [-1]
    with pytest.raises(EntryError, match=r"replacement\.type: must be a vaccination entry"):
        history.correction(first, AMEND, {"type": "note", "text": "x", "date": "2026-10-01"}, None, DAY)
    with pytest.raises(EntryError, match="entry: names no entry"):
        history.correction("9.00000000.0", VOID, None, "x", DAY)
    with pytest.raises(EntryError, match=r"replacement\.date: is in the future"):
        history.correction(first, AMEND, {**_doc(DOSE1), "date": "2026-11-03"}, None, DAY)


CHOICES = [DOSE1, DOSE2, Vaccination("comirnaty", 3, DAY), Vaccination("td", 1, DAY)]


@st.composite
def correction_trees(draw: st.DrawFn) -> list[Made]:
    """Corrections of one entry, each superseding the entry or an earlier correction, on a few days."""
    made: list[Made] = []
    for _ in range(draw(st.integers(0, 7))):
        parent = draw(st.sampled_from([None, *(m.id for m in made)]))
        kind = draw(st.sampled_from([AMEND, VOID]))
        replacement = draw(st.sampled_from(CHOICES)) if kind == AMEND else None
        on = DAY + dt.timedelta(days=draw(st.integers(0, 2)))
        record_id = draw(st.binary(min_size=16, max_size=16).filter(lambda b: b not in {m.id for m in made}))
        made.append(Made(record_id, on, Correction(bytes(16), 0, kind, replacement, "r", parent)))
    return made


@settings(max_examples=200, deadline=None)
@given(made=correction_trees(), seed=st.integers(0, 2**32))
def test_which_version_wins_does_not_depend_on_the_order_records_arrive_in(made: list[Made], seed: int) -> None:
    shuffled = list(made)
    random.Random(seed).shuffle(shuffled)
    assert resolve(DOSE1, made) == resolve(DOSE1, shuffled)
    # A correction made after the current one was read, superseding it, always wins.
    state = resolve(DOSE1, made)
    fresh = next(bytes([n]) * 16 for n in range(9) if bytes([n]) * 16 not in {m.id for m in made})
    later = Made(fresh, DAY - dt.timedelta(days=9), Correction(bytes(16), 0, AMEND, DOSE2, None, state.head))
    assert resolve(DOSE1, [*shuffled, later]).current == DOSE2


def test_an_amend_that_changes_nothing_is_refused() -> None:
    """Submitting the correct form as it came would store a correction of nothing, counted and audited."""
    history = build_history(opened_history(Visit((DOSE1, TEST))), DAY)  # type: ignore[arg-type]
    first = entry_id(history.visits[0], 0)
    with pytest.raises(EntryError, match="replacement: is the same as the entry it corrects") as caught:
        history.correction(first, AMEND, {**_doc(DOSE1), "lot": "FJ8529"}, None, DAY)
    assert caught.value.problem == "unchanged"
    correction, _ = history.correction(first, AMEND, {**_doc(DOSE1), "dose": 2}, None, DAY)
    assert correction.entry == 0
