"""`haven visit correct` and `haven visit void`: entry ids from `haven history`, both versions shown."""

from __future__ import annotations

import json

import pytest

from haven.errors import EntryError
from haven.exit_codes import exit_code

DOSES = json.dumps(
    [
        {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01", "lot": "FJ8529"},
        {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2026-10-25"},
    ]
)


@pytest.fixture
def card(run_cli) -> str:  # type: ignore[no-untyped-def]
    assert run_cli("init", "--admin", "amal").code == 0
    made = run_cli("card", "new", "--json", "--no-show-qr").json()
    assert run_cli("visit", "add", "--card", made["qr"], "--first-visit", "--entries", "-", stdin=DOSES).code == 0
    return str(made["qr"])


def entry_ids(run, card: str) -> list[str]:  # type: ignore[no-untyped-def]
    visit = run("history", "--card", card, "--json").json()["visits"][0]
    return [f"{visit['index']}.{visit['record']}.{n}" for n in range(len(visit["entries"]))]


def test_correct_and_void_from_the_command_line(run_cli, card: str) -> None:  # type: ignore[no-untyped-def]
    first, second = entry_ids(run_cli, card)
    human = run_cli("history", "--card", card)
    assert first in human.out and second in human.out  # the ids to name an entry by
    fixed = json.dumps({"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-02"})
    done = run_cli("visit", "correct", first, "--card", card, "--entry", "-", "--reason", "date", "--json", stdin=fixed)
    assert done.code == 0, done.err
    assert done.json() == {"entry": first, "kind": "amend", "index": 1, "stored": True}
    voided = run_cli("visit", "void", second, "--card", card, "--reason", "given elsewhere", "--json")
    assert voided.code == 0 and voided.json()["kind"] == "void"
    history = run_cli("history", "--card", card, "--json").json()
    entries = history["visits"][0]["entries"]
    assert entries[0]["date"] == "2026-10-02" and entries[0]["corrected"]["original"]["lot"] == "FJ8529"
    assert entries[1]["voided"]["reason"] == "given elsewhere"
    assert [d["dose"] for d in history["next_due"]] == [2]  # the voided second dose is due again
    shown = run_cli("history", "--card", card).out
    assert "VOIDED on" in shown and "corrected on" in shown


def test_a_refused_correction_is_one_line_and_stores_nothing(run_cli, card: str) -> None:  # type: ignore[no-untyped-def]
    first, _ = entry_ids(run_cli, card)
    note = json.dumps({"type": "note", "text": "x", "date": "2026-10-01"})
    refused = run_cli("visit", "correct", first, "--card", card, "--entry", "-", stdin=note)
    assert refused.code == exit_code(EntryError("replacement.type", "other-type", type="vaccination"))
    assert refused.err.strip().count("\n") == 0 and "replacement.type: must be a vaccination entry" in refused.err
    assert run_cli("visit", "void", "0.ffffffff.0", "--card", card, "--reason", "x").code == refused.code
    assert len(run_cli("history", "--card", card, "--json").json()["visits"]) == 1
    assert "corrected" not in run_cli("history", "--card", card, "--json").out
