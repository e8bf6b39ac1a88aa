"""The site-security commands end to end: init, unlocking, staff, roles, duress, site settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSPHRASE
from tests.helpers_site import ADMIN_DURESS, CLINICIAN, CLINICIAN_DURESS, WRONG

VISIT = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}])


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text + "\n", "utf-8")
    return str(path)


@pytest.fixture
def site(run_cli, tmp_path: Path):
    duress = _file(tmp_path, "ana-duress", ADMIN_DURESS)
    assert run_cli("init", "--admin", "Ana", "--duress-passphrase-file", duress).code == 0
    added = run_cli(
        "staff", "add", "Min", "--role", "clinician",
        "--passphrase-file", _file(tmp_path, "min", CLINICIAN),
        "--duress-passphrase-file", _file(tmp_path, "min-duress", CLINICIAN_DURESS),
    )  # fmt: skip
    assert added.code == 0, added.err
    return run_cli


def _card(run_cli) -> str:
    card = run_cli("card", "new", "--json", "--no-show-qr").json()
    assert run_cli("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=VISIT).code == 0
    return str(card["qr"])


def test_init_needs_an_admin_and_a_strong_passphrase(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli("init").code == 2
    monkeypatch.setenv("HAVEN_PASSPHRASE", "password123")
    weak = run_cli("init", "--admin", "Ana", "--json")
    assert weak.code == 11 and weak.json()["error"]["code"] == "weak-passphrase"
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    made = run_cli("init", "--admin", "Ana", "--json")
    assert made.code == 0
    doc = made.json()
    assert doc["admin"] == {
        "name": "Ana",
        "roles": ["registrar", "clinician", "coordinator"],
        "added": doc["admin"]["added"],
    }
    assert "passphrase" not in doc
    assert run_cli("init", "--admin", "Bo").code == 6


def test_init_can_generate_the_admin_passphrase(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAVEN_PASSPHRASE")
    doc = run_cli("init", "--admin", "Ana", "--generate-passphrase", "--json").json()
    assert len(doc["passphrase"].split()) == 5
    assert run_cli("staff", "list").code == 2  # no passphrase given, no terminal to ask on
    monkeypatch.setenv("HAVEN_PASSPHRASE", doc["passphrase"])
    assert run_cli("staff", "list", "--json").json()["staff"][0]["name"] == "Ana"


def test_passphrase_from_a_file_on_any_command_or_the_root(
    site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HAVEN_PASSPHRASE")
    mine = _file(tmp_path, "mine", ADMIN_PASSPHRASE)
    assert site("staff", "list", "--passphrase-file", mine).code == 0
    assert site("--passphrase-file", mine, "staff", "list").code == 0
    assert site("staff", "list", "--passphrase-file", _file(tmp_path, "bad", WRONG)).code == 8


def test_a_terminal_is_asked_for_the_passphrase_without_echo(site, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    monkeypatch.delenv("HAVEN_PASSPHRASE")
    asked: list[dict[str, object]] = []

    def prompt(text: str, **kwargs: object) -> str:
        asked.append({"text": text, **kwargs})
        return ADMIN_PASSPHRASE

    monkeypatch.setattr(click, "prompt", prompt)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    assert site("staff", "list").code == 0
    assert asked == [{"text": "Staff passphrase", "hide_input": True, "err": True}]


def test_roles_are_enforced_with_exit_10(site, monkeypatch: pytest.MonkeyPatch) -> None:
    qr = _card(site)
    monkeypatch.setenv("HAVEN_PASSPHRASE", CLINICIAN)
    assert site("history", "--card", qr).code == 0
    denied = site("staff", "list", "--json")
    assert denied.code == 10 and denied.json()["error"]["code"] == "permission-denied"
    assert site("audit", "show").code == 10
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    assert site("staff", "add", "Bo", "--role", "registrar", "--generate-passphrase", "--json").code == 0
    bo = site("staff", "passwd", "Bo", "--generate-passphrase", "--json").json()["passphrase"]
    monkeypatch.setenv("HAVEN_PASSPHRASE", bo)
    assert site("history", "--card", qr).code == 10  # a registrar records visits but does not read histories
    dose_2 = VISIT.replace('"dose": 1', '"dose": 2').replace("2026-10-01", "2026-10-22")  # dose 1 is recorded
    assert site("visit", "add", "--card", qr, "--entries", "-", stdin=dose_2).code == 0


def test_commands_write_who_did_what_to_the_audit_log(site, monkeypatch: pytest.MonkeyPatch) -> None:
    qr = _card(site)
    monkeypatch.setenv("HAVEN_PASSPHRASE", CLINICIAN)
    assert site("history", "--card", qr).code == 0
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    entries = site("audit", "show", "--json").json()["entries"]
    assert [(e["staff"], e["action"]) for e in entries] == [
        ("Ana", "site.init"),
        ("Ana", "staff.add"),
        ("Ana", "visit.add"),
        ("Min", "history.view"),
    ]
    text = json.dumps(entries)
    assert qr not in text and "comirnaty" not in text
    assert site("audit", "verify", "--json").json()["ok"] is True


def test_duress_from_the_command_line_shows_an_empty_site(site, monkeypatch: pytest.MonkeyPatch) -> None:
    qr = _card(site)
    monkeypatch.setenv("HAVEN_PASSPHRASE", CLINICIAN_DURESS)
    result = site("history", "--card", qr)
    assert (result.code, result.err.strip()) == (5, "haven: No records for this card.")
    for passphrase in (ADMIN_PASSPHRASE, CLINICIAN, ADMIN_DURESS):
        monkeypatch.setenv("HAVEN_PASSPHRASE", passphrase)
        assert site("staff", "list").code == 8


def test_staff_passwd_changes_your_own_passphrase(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_PASSPHRASE", CLINICIAN)
    new = _file(tmp_path, "new", WRONG)
    assert site("staff", "passwd", "--new-passphrase-file", new).code == 0
    assert site("staff", "list").code == 8  # the old passphrase opens nothing
    monkeypatch.setenv("HAVEN_PASSPHRASE", WRONG)
    assert site("staff", "list").code == 10  # the new one opens the site (Min is no coordinator)
    both = site("staff", "passwd", "--new-passphrase-file", new, "--no-duress", "--duress-passphrase-file", new)
    assert both.code == 2


def test_staff_remove_and_list(site) -> None:
    assert [m["name"] for m in site("staff", "list", "--json").json()["staff"]] == ["Ana", "Min"]
    assert site("staff", "remove", "Min").code == 0
    assert [m["name"] for m in site("staff", "list", "--json").json()["staff"]] == ["Ana"]
    assert site("staff", "remove", "Nobody").code == 2


def test_site_show_and_set(site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAVEN_PASSPHRASE")
    shown = site("site", "show", "--json").json()  # no passphrase needed: it shows only what the files show
    assert shown["erase_after"] == 0 and shown["kdf"]["memory_kib"] == 8192 and not shown["kdf_meets_floor"]
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    assert site("site", "set", "--erase-after", "2").code == 2
    assert site("site", "set", "--erase-after", "10").code == 0
    assert site("site", "show", "--json").json()["erase_after"] == 10


def test_passphrase_suggest(run_cli) -> None:
    doc = run_cli("staff", "passphrase-suggest", "--words", "6", "--json").json()
    assert len(doc["passphrase"].split()) == 6 and doc["bits"] == 66


def test_commands_that_need_no_site_ask_for_no_passphrase(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAVEN_PASSPHRASE")
    card = run_cli("card", "new", "--json", "--no-show-qr").json()
    assert run_cli("card", "qr", "--card", card["qr"], "--json").code == 0
    assert run_cli("catalogue", "--json").code == 0


def test_test_parameters_warn_when_the_test_profile_is_not_set(site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAVEN_KDF_PROFILE")
    result = site("staff", "list")
    assert result.code == 0 and "test parameters" in result.err


def test_demo_still_works(run_cli, tmp_path: Path) -> None:
    result = run_cli("demo", "--home", str(tmp_path / "demo"), "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert len(doc["staff"]["passphrase"].split()) == 5
    assert doc["history"]["visits"]


def test_an_older_site_without_key_slots_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    from haven.store.sqlite import SQLiteStore

    home = tmp_path / "site"
    home.mkdir()
    SQLiteStore(home / "site.db").close()
    result = run_cli("staff", "list")
    assert result.code == 6 and "no key slot file" in result.err
