"""The CLI: JSON shapes, --home and HAVEN_HOME, one line per error and a distinct exit code per class."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from haven import errors
from haven.exit_codes import exit_code

VAX1 = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}])
MIXED = json.dumps(
    [
        {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"},
        {"type": "test", "test": "antigen", "result": "negative", "date": "2026-11-02"},
    ]
)


@pytest.fixture
def site(run_cli):  # type: ignore[no-untyped-def]
    assert run_cli("init", "--admin", "amal").code == 0
    return run_cli


def new_card(run, *extra: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = run("card", "new", "--json", "--no-show-qr", *extra)
    assert result.code == 0, result.err
    return result.json()  # type: ignore[no-any-return]


def test_card_new_json_shape(run_cli) -> None:  # type: ignore[no-untyped-def]
    for language in ("en", "ko", "zh"):
        doc = new_card(run_cli, "--words-language", language)
        assert set(doc) == {"words", "language", "qr", "pin"}
        assert len(doc["words"]) == 13 and doc["language"] == language and len(doc["qr"]) == 32


def test_card_new_writes_qr_images(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = new_card(run_cli, "--qr-svg", str(tmp_path / "c.svg"), "--qr-png", str(tmp_path / "c.png"))
    assert (tmp_path / "c.svg").read_text().startswith("<svg")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import zxingcpp
    from PIL import Image

    (decoded,) = zxingcpp.read_barcodes(Image.open(tmp_path / "c.png"))
    assert decoded.text == doc["qr"]


def test_full_flow_with_words_and_code(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site)
    words = " ".join(card["words"])
    added = site("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", "--json", stdin=MIXED)
    assert added.code == 0 and added.json() == {"index": 0, "entries": 2, "first_visit": True, "stored": True}
    dose_2 = VAX1.replace('"dose": 1', '"dose": 2').replace("2026-10-01", "2026-10-22")  # on its earliest day
    again = site("visit", "add", "--card", words, "--entries", "-", "--json", stdin=dose_2)
    assert again.json()["index"] == 1
    hist = site("history", "--card", words, "--json").json()
    assert set(hist) == {"visits", "next_due", "holder", "unreadable"}
    assert [v["index"] for v in hist["visits"]] == [0, 1]
    assert hist["next_due"][0]["kind"] == "booster"
    human = site("history", "--card", card["qr"])
    assert human.code == 0 and "History" in human.out


def test_visit_add_prints_the_warnings_and_refuses_until_confirmed(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site)
    site("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=VAX1)
    early = VAX1.replace('"dose": 1', '"dose": 2').replace("2026-10-01", "2026-10-07")
    refused = error_case(site, "visit", "add", "--card", card["qr"], "--entries", "-", "--json", stdin=early)
    assert refused.code == exit_code(errors.ChecksNeedConfirmationError) == 14
    assert "entries[0].date: dose 2 of Comirnaty" in refused.err and "2026-10-22" in refused.err
    (warning,) = refused.json()["error"]["details"]["warnings"]
    assert (refused.json()["error"]["code"], warning["code"]) == ("needs-confirmation", "interval-too-short")
    assert len(site("history", "--card", card["qr"], "--json").json()["visits"]) == 1  # nothing stored
    args = ("visit", "add", "--card", card["qr"], "--entries", "-", "--json", "--confirm", "leaves the region today")
    assert site(*args, stdin=early).json()["stored"] is True
    (_, second) = site("history", "--card", card["qr"], "--json").json()["visits"]
    assert second["confirmed"] == {"reason": "leaves the region today", "warnings": ["interval-too-short"]}


def test_card_from_stdin(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site)
    site("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=VAX1)
    assert site("history", "--card", "-", "--json", stdin=" ".join(card["words"]) + "\n").code == 0


def test_card_words_copied_with_numbers_and_commas(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site, "--words-language", "ko")
    site("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=VAX1)
    numbered = "，".join(f"{n}. {w}" for n, w in enumerate(card["words"], start=1))
    assert site("history", "--card", numbered, "--json").code == 0
    assert site("history", "--card", "-", "--json", stdin="\u3000" + numbered + "。\n").code == 0


def test_card_new_can_record_the_first_visit_with_a_pin(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pin").write_text("4829\n")
    (tmp_path / "v.json").write_text(VAX1)
    card = new_card(site, "--pin-file", str(tmp_path / "pin"), "--entries", str(tmp_path / "v.json"))
    assert card["pin"] is True and card["visit"]["index"] == 0
    assert site("history", "--card", card["qr"]).code == exit_code(errors.NoRecordsError)
    ok = site("history", "--card", card["qr"], "--pin-file", str(tmp_path / "pin"), "--json")
    assert ok.code == 0 and len(ok.json()["visits"]) == 1


def test_home_option_env_and_group_level(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other"
    assert run_cli("init", "--admin", "amal", "--home", str(other)).code == 0
    assert (other / "site.db").exists()
    assert run_cli("--home", str(other), "seizure-view", "--json").json()["home"] == str(other)
    assert run_cli("--json", "--home", str(other), "catalogue").json()["products"]


def test_init_takes_the_passphrase_file_given_to_every_command(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`haven --passphrase-file F init` sets F's passphrase, as `haven --passphrase-file F card new` then
    unlocks with it: a script gives it once, before the command (it was ignored and asked for)."""
    monkeypatch.delenv("HAVEN_PASSPHRASE")
    secret = tmp_path / "secret"
    secret.write_text("dawn harbour quiet lantern velvet orchard\n")
    home = str(tmp_path / "scripted")
    assert run_cli("--passphrase-file", str(secret), "--home", home, "init", "--admin", "amal", stdin="").code == 0
    assert run_cli("--passphrase-file", str(secret), "--home", home, "staff", "list", "--json").code == 0
    wrong = tmp_path / "wrong"
    wrong.write_text("another passphrase entirely here\n")
    assert run_cli("--passphrase-file", str(wrong), "--home", home, "staff", "list").code != 0


def error_case(run, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    result = run(*args, stdin=stdin)
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert result.err.startswith("haven: ")
    return result


def test_each_error_class_has_its_exit_code(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site)
    words = card["words"]
    swapped = [*words[:4], words[5], words[4], *words[6:]]
    r = error_case(site, "history", "--card", " ".join(swapped))
    assert r.code == exit_code(errors.CardError) == 3
    r = error_case(site, "visit", "add", "--card", card["qr"], "--entries", "-", stdin='[{"type": "test"}]')
    assert r.code == exit_code(errors.EntryError) == 4
    r = error_case(site, "history", "--card", card["qr"])
    assert r.code == exit_code(errors.NoRecordsError) == 5
    r = error_case(site, "init", "--admin", "amal")
    assert r.code == exit_code(errors.SiteError) == 6
    r = error_case(site, "visit", "add", "--card", card["qr"], "--entries", "-", stdin="{not json")
    assert r.code == exit_code(errors.InputError) == 2


def test_card_is_checked_before_the_site_is_touched(run_cli) -> None:  # type: ignore[no-untyped-def]
    # No site exists: a bad card must still be reported as a bad card, not as a missing site.
    r = error_case(run_cli, "history", "--card", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert r.code == exit_code(errors.CardError)
    r = error_case(run_cli, "history", "--card", " ".join(["abandon"] * 13))
    assert r.code == exit_code(errors.CardError)


def test_json_errors_are_json(site) -> None:  # type: ignore[no-untyped-def]
    r = site("history", "--card", "nonsense words", "--json")
    assert r.code == 3
    assert r.json() == {
        "error": {
            "code": "invalid-card",
            "message": "A card has 13 words; this has 2.",
            "details": {"problem": "count"},
        }
    }


def test_a_bad_visit_changes_nothing(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site)
    site("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=VAX1)

    def clinical(doc):  # type: ignore[no-untyped-def]
        return [t for t in doc["tables"] if t["name"] in ("records", "aggregates")]

    before = clinical(site("seizure-view", "--json").json())
    bad = json.dumps([json.loads(VAX1)[0], {"type": "test", "test": "antigen", "result": "?", "date": "2026-11-02"}])
    assert site("visit", "add", "--card", card["qr"], "--entries", "-", stdin=bad).code == 4
    assert clinical(site("seizure-view", "--json").json()) == before


def test_import_jsonl_with_progress_and_a_bad_line(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cards = [new_card(site)["qr"] for _ in range(3)]
    lines = [json.dumps({"card": c, "entries": json.loads(VAX1)}) for c in cards * 2]
    (tmp_path / "ok.jsonl").write_text("\n".join(lines) + "\n\n")
    r = site("visit", "import", str(tmp_path / "ok.jsonl"), "--json")
    assert r.code == 0 and r.json() == {"imported": 6, "already_imported": 0}
    others = [json.dumps({"card": new_card(site)["qr"], "entries": json.loads(VAX1)}) for _ in range(3)]
    bad = [*others, f'{{"card": "{cards[0]}", "entries": [{{"type": "x"}}]}}', *others[:1]]
    (tmp_path / "bad.jsonl").write_text("\n".join(bad))
    r = error_case(site, "visit", "import", str(tmp_path / "bad.jsonl"), "--batch", "2")
    assert r.code == 4 and "Line 4" in r.err and "2 visits of this file are imported" in r.err
    assert "resumes at line 3" in r.err


def test_seizure_view_shows_only_opaque_rows(site) -> None:  # type: ignore[no-untyped-def]
    card = new_card(site)
    site("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=MIXED)
    doc = site("seizure-view", "--json").json()
    tables = {t["name"]: t for t in doc["tables"]}
    assert tables["records"]["columns"] == ["locator", "id", "sealed"]
    assert len(tables["records"]["rows"]) == 1
    assert all(set(cell) == {"hex"} for cell in tables["records"]["rows"][0])
    assert {f["path"] for f in doc["files"]} >= {"site.db"}
    text = json.dumps(doc)
    assert "comirnaty" not in text and "2026-10-01" not in text and card["qr"] not in text
    human = site("seizure-view")
    assert human.code == 0 and "Table records" in human.out


def test_demo_runs(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "haven", "demo", "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["holders"]) == 3
    assert doc["history"]["visits"] and doc["history"]["next_due"]
    assert "do not check out" in doc["swapped_words"] and doc["wrong_pin"] == "No records for this card."
    assert (home / "site.db").exists()
