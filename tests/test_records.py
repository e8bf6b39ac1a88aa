"""Sealed records: AEAD under the holder's key, bound to their row, padded to hide their size."""

from __future__ import annotations

import datetime as dt

import pytest

from haven.core.card import Card
from haven.core.entries import Test, Treatment, Vaccination, Visit
from haven.core.keys import HolderKeys
from haven.core.records import PAD_BLOCK, SealedRecord, UnreadableRecord, open_record, pad, seal_visit, unpad
from tests.helpers_clock import seeded

DAY = dt.date(2026, 11, 2)
KEYS = HolderKeys.derive(Card(bytes(range(16))))


def test_seal_and_open() -> None:
    visit = Visit((Vaccination("comirnaty", 1, DAY, lot="FJ8529"),))
    record = seal_visit(KEYS, 3, visit, DAY, seeded(1))
    assert record.locator == KEYS.locator(3)
    opened = open_record(KEYS, record, 3)
    assert opened.visit == visit and opened.index == 3 and opened.recorded_on == DAY


def test_every_tampering_fails_one_way() -> None:
    record = seal_visit(KEYS, 0, Visit((Test("antigen", "negative", DAY),)), DAY, seeded(1))
    other_keys = HolderKeys.derive(Card(bytes(range(1, 17))))
    cases = [
        SealedRecord(record.locator, record.id, record.sealed[:-1] + bytes([record.sealed[-1] ^ 0x01])),
        SealedRecord(record.locator, bytes(16), record.sealed),  # moved to another row id
        SealedRecord(KEYS.locator(1), record.id, record.sealed),  # moved to another locator
        SealedRecord(record.locator, record.id, record.sealed[:20]),  # truncated
        SealedRecord(record.locator, record.id, b"\x02" + record.sealed[1:]),  # unknown version
    ]
    for bad in cases:
        with pytest.raises(UnreadableRecord):
            open_record(KEYS, bad, 0)
    with pytest.raises(UnreadableRecord):
        open_record(other_keys, record, 0)
    with pytest.raises(UnreadableRecord):
        open_record(KEYS, record, 1)  # index inside must match the locator's index


def test_sizes_do_not_tell_entry_kinds_apart() -> None:
    visits = [
        Visit((Vaccination("comirnaty", 1, DAY),)),
        Visit((Test("pcr", "positive", DAY),)),
        Visit((Treatment(DAY, symptoms=("fever",), severity="severe"),)),
    ]
    sizes = {len(seal_visit(KEYS, 0, v, DAY, seeded(2)).sealed) for v in visits}
    assert len(sizes) == 1


def test_padding() -> None:
    for n in (0, 1, 255, 256, 1000):
        padded = pad(b"\x80" * n)
        assert len(padded) % PAD_BLOCK == 0
        assert unpad(padded) == b"\x80" * n
    with pytest.raises(ValueError):
        unpad(bytes(PAD_BLOCK))


def test_nonces_and_ids_are_fresh() -> None:
    visit = Visit((Test("antigen", "negative", DAY),))
    import secrets

    a = seal_visit(KEYS, 0, visit, DAY, secrets.token_bytes)
    b = seal_visit(KEYS, 0, visit, DAY, secrets.token_bytes)
    assert a.locator == b.locator
    assert a.id != b.id and a.sealed[1:13] != b.sealed[1:13] and a.sealed != b.sealed
