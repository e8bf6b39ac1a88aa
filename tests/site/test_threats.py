"""Threat-model lines that are about the whole program rather than one module."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import click
import pytest

from haven.cli import cli
from haven.store.sqlite import SQLiteStore
from tests.conftest import ADMIN_PASSPHRASE

VISIT = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}])


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        out.append(path)
        if isinstance(command, click.Group):
            out.extend(_commands(command, path))
    return out


def test_no_command_lists_searches_or_exports_people() -> None:
    """An informant with a staff account finds no way to enumerate holders: there is nothing to enumerate by."""
    paths = _commands(cli)
    # The trust list and epoch keys are exported to other sites; they hold no person.
    # `export fhir` writes one holder's history, and only with that holder's card: it enumerates nobody.
    # `sync export` writes the sealed rows for the network's member sites: the ciphertext a seized copy holds,
    # readable only with each holder's card, sealed again to the members (docs/sync.md).
    exports_of_keys = {"trust export", "trust export-key", "export fhir", "export", "sync export", "sync roster export"}
    words = {word for path in paths if path not in exports_of_keys for word in path.split()}
    assert not words & {"search", "find", "export", "dump", "lookup", "holders", "people", "patients"}
    # Staff and the lot register (site inventory: product, lot, expiry), never holders.
    assert sorted(p for p in paths if p.endswith(" list") or p == "list") == ["lot list", "staff list"]
    # Without a card, a record is a random locator, a random id and ciphertext.
    store = SQLiteStore(Path(":memory:"))
    try:
        records = next(t for t in store.tables() if t.name == "records")
        assert records.columns == ("locator", "id", "sealed")
    finally:
        store.close()


def test_site_commands_open_no_network_connection(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing leaves the machine: an observer of the network sees no traffic from a site today."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    new = tmp_path / "new"
    new.write_text("census unable gallery jump essay happy\n")
    assert run_cli("init", "--admin", "Ana").code == 0
    card = run_cli("card", "new", "--json", "--no-show-qr").json()
    assert run_cli("visit", "add", "--card", card["qr"], "--first-visit", "--entries", "-", stdin=VISIT).code == 0
    for args in (
        ("history", "--card", card["qr"]),
        ("staff", "add", "Min", "--role", "clinician", "--passphrase-file", str(new)),
        ("staff", "list"),
        ("audit", "verify"),
        ("seizure-view",),
        ("seizure-view", "--raw"),
        ("site", "show"),
        ("panic", "--yes"),
    ):
        result = run_cli(*args)
        assert result.code == 0, (args, result.err)
    assert ADMIN_PASSPHRASE not in json.dumps(run_cli("seizure-view", "--raw", "--json").json())
