"""The CLI end to end: init, card, visit, history."""

from __future__ import annotations

import json


def test_card_visit_history_round_trip(run_cli) -> None:
    assert run_cli("init", "--admin", "Ana", "--json").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()
    assert len(card["words"]) == 13
    entries = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}])
    added = run_cli("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", "--json", stdin=entries)
    assert added.code == 0, added.err
    hist = run_cli("history", "--card", " ".join(card["words"]), "--json").json()
    assert [e["product"] for v in hist["visits"] for e in v["entries"]] == ["comirnaty"]
    assert hist["next_due"][0]["dose"] == 2
