"""P2: a full copy of a site's files, taken without cards, holds no clinical value in clear and
nothing that links two visits of one person."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from haven.app.clinic import Clinic, unsealed_tally
from haven.core.card import Card
from haven.core.catalogue import catalogue
from haven.store.sqlite import SQLiteStore
from tests.helpers_clock import TODAY, seeded

VISIT = {
    "holder": {"birth_year": 1990, "sex": "female"},
    "entries": [
        {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FJ8529"},
        {"type": "test", "test": "antigen", "result": "negative", "date": "2026-10-01"},
        {"type": "consultation", "date": "2026-10-01", "symptoms": ["fever"], "severity": "mild"},
    ],
}


def build_site(home: Path, holders: int, visits_each: int, seed: int) -> SQLiteStore:
    home.mkdir()
    store = SQLiteStore(home / "site.db")
    clinic = Clinic(store, today=lambda: TODAY, random_bytes=seeded(seed), seal_counts=unsealed_tally)
    for h in range(holders):
        card = Card(seeded(seed * 100 + h)(16))
        for v in range(visits_each):
            clinic.add_visit(card, VISIT, first_visit=v == 0)
    return store


def raw_tables(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Read the file with plain sqlite3, as anyone holding it could."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: conn.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}
    finally:
        conn.close()


def distinct_per_column(tables: dict[str, list[tuple[object, ...]]]) -> dict[tuple[str, int], int]:
    out = {}
    for name, rows in tables.items():
        width = len(rows[0]) if rows else 0
        for col in range(width):
            out[(name, col)] = len({row[col] for row in rows})
        out[(name, -1)] = len(rows)
    return out


@pytest.fixture
def sites(tmp_path: Path) -> tuple[Path, Path]:
    x = build_site(tmp_path / "x", holders=1, visits_each=5, seed=1)
    y = build_site(tmp_path / "y", holders=5, visits_each=1, seed=2)
    x.checkpoint()
    y.checkpoint()
    x.close()
    y.close()
    return tmp_path / "x", tmp_path / "y"


def test_one_holder_five_visits_looks_like_five_holders(sites: tuple[Path, Path]) -> None:
    x, y = sites
    tx, ty = raw_tables(x / "site.db"), raw_tables(y / "site.db")
    assert set(tx) == set(ty) and "records" in tx
    assert distinct_per_column(tx) == distinct_per_column(ty)
    assert len(tx["records"]) == 5
    for column in range(3):
        assert len({row[column] for row in tx["records"]}) == 5  # no shared locator, id or ciphertext


def test_no_byte_string_is_shared_between_visits_of_one_holder(sites: tuple[Path, Path]) -> None:
    x, _ = sites
    rows = raw_tables(x / "site.db")["records"]

    def windows(row: tuple[object, ...]) -> set[bytes]:
        out: set[bytes] = set()
        for value in row:
            assert isinstance(value, bytes)
            out |= {value[i : i + 8] for i in range(len(value) - 7)}
        return out

    seen = [windows(r) for r in rows]
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            assert not (seen[i] & seen[j]), "two visits of one holder share an 8-byte string"


def needles() -> list[bytes]:
    cat = catalogue()
    words: set[str] = {"FJ8529", "female", "fever", "consultation", "vaccination"}
    for product in cat.products.values():
        words |= {product.key, product.name.split(" ")[0]}
        words |= {code for code in product.codes.values() if len(code) >= 5}
    for coded in (*cat.tests.values(), *cat.results.values()):
        words |= {coded.key, *(c for c in coded.codes.values() if len(c) >= 5)}
    # Five bytes or more: a shorter string turns up in random bytes by chance.
    return sorted({form.encode() for w in words if len(w) >= 5 for form in (w, w.lower())})


ISO_DATE = re.compile(rb"(19|20)\d\d-[01]\d-[0-3]\d")


def scan(folder: Path) -> list[str]:
    hits = []
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles():
            if needle in data:
                hits.append(f"{path.name}: {needle!r}")
        if ISO_DATE.search(data):
            hits.append(f"{path.name}: ISO date")
    return hits


def test_no_clinical_value_in_any_file_of_a_running_site(tmp_path: Path) -> None:
    store = build_site(tmp_path / "site", holders=3, visits_each=3, seed=3)
    try:
        names = {p.name for p in (tmp_path / "site").iterdir()}
        assert names == {"site.db", "site.db-journal"}  # a rollback journal, emptied at each commit
        assert scan(tmp_path / "site") == []
    finally:
        store.close()
    assert scan(tmp_path / "site") == []


def test_the_scan_would_find_a_clear_value(tmp_path: Path) -> None:
    """The scanner itself works: a planted value is found."""
    (tmp_path / "f").write_bytes(b"\x00" * 10 + b"comirnaty" + b"2026-10-01")
    assert scan(tmp_path) == ["f: b'comirnaty'", "f: ISO date"]
    assert len(needles()) > 60
