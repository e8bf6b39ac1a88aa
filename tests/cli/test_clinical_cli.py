"""The clinical entries at the command line: added with ``haven visit add``, shown by ``haven history``."""

from __future__ import annotations

import json
from typing import Any

from tests.core.test_clinical_entries import FULL


def test_clinical_entries_are_added_and_shown_in_words_and_in_json(run_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "200")  # a table's cells wrap at 80 columns, splitting the phrases looked for
    assert run_cli("init", "--admin", "Ana").code == 0
    qr: str = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
    visit: dict[str, Any] = {"holder": {"age_band": "0-4"}, "entries": FULL}
    added = run_cli(
        "visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{qr}\n{json.dumps(visit)}"
    )
    assert added.code == 0, added.err
    human = run_cli("history", "--card", "-", stdin=f"{qr}\n")
    assert human.code == 0, human.err
    text = " ".join(human.out.split())
    for shown in ("vital signs", "38.4 °C", "118/76 mmHg", "weight and growth", "allergy to penicillin", "AEFI after"):
        assert shown in text, shown
    entries = run_cli("history", "--card", "-", "--json", stdin=f"{qr}\n").json()["visits"][0]["entries"]
    assert [e["type"] for e in entries] == ["vitals", "weight", "allergy", "allergy", "aefi"]
    assert entries[-1]["product_name"] == "Pentavalent vaccine (DTwP-HepB-Hib)"
    assert entries[0] == FULL[0]


def test_the_catalogue_says_which_results_each_test_gives(run_cli) -> None:  # type: ignore[no-untyped-def]
    doc = run_cli("--json", "catalogue").json()
    assert doc["test_results"]["malaria-rdt"] == ["malaria-pf", "malaria-non-pf", "negative", "invalid"]
    assert {"bcg", "penta", "yf"} <= {p["key"] for p in doc["products"]}
