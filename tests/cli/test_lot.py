"""``haven lot``: the commands of docs/cli-lots.md run as written, and their refusals and counts."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from haven import errors
from haven.exit_codes import exit_code

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(run_cli):  # type: ignore[no-untyped-def]
    assert run_cli("init", "--admin", "amal").code == 0
    return run_cli


def test_every_lot_command_in_the_docs_runs_as_written(site) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "docs" / "cli-lots.md").read_text("utf-8")
    (block,) = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    commands = [line for line in block.splitlines() if line.startswith("haven lot")]
    assert len(commands) == 5
    for command in commands:
        result = site(*shlex.split(command)[1:])
        assert result.code == 0, (command, result.err)
    listed = result.json()["lots"]
    assert [(x["lot"], x["status"], x["used"]) for x in listed] == [("MR-2607", "in-use", 0), ("TD-118", "retired", 0)]


def test_an_expired_lot_is_refused_and_a_dose_from_a_registered_lot_is_counted(site) -> None:  # type: ignore[no-untyped-def]
    assert site("lot", "add", "--product", "td", "--lot", "OLD", "--expiry", "2026-10-15").code == 0
    assert site("lot", "add", "--product", "td", "--lot", "NEW", "--expiry", "2099-12-31").code == 0
    refused = site("lot", "add", "--product", "td", "--lot", "NEW", "--expiry", "2099-12-31")
    assert refused.code == exit_code(errors.InputError) and "already in the register" in refused.err
    card = site("card", "new", "--json", "--no-show-qr").json()["qr"]
    late = [{"type": "vaccination", "product": "td", "dose": 1, "date": "2026-10-16", "lot": "OLD"}]
    args = ("visit", "add", "--card", "-", "--first-visit", "--entries", "-")
    result = site(*args, stdin=card + "\n" + json.dumps(late))
    assert result.code == exit_code(errors.EntryError) == 4
    assert result.err.strip() == "haven: entries[0].lot: lot OLD expired on 2026-10-15"
    assert site("history", "--card", card).code == exit_code(errors.NoRecordsError)  # nothing stored
    good = [{**late[0], "lot": "NEW"}]
    assert site(*args, stdin=card + "\n" + json.dumps(good)).code == 0
    lots = site("lot", "list", "--json").json()["lots"]
    assert [(x["lot"], x["status"], x["used"]) for x in lots] == [("OLD", "expired", 0), ("NEW", "in-use", 1)]
    assert "NEW" in site("lot", "list").out
