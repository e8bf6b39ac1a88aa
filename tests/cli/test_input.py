"""Mistakes at the command line get one clear line and their exit code, never a traceback, and store nothing:
output paths that cannot be written, bytes that are not UTF-8, a full disk under an output file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from haven.core.card import Card
from tests.conftest import ADMIN_PASSPHRASE
from tests.site.test_faults import small_disk  # noqa: F401 (a fixture: a small tmpfs, mounted by the test)

HAVEN = Path(sys.executable).parent / "haven"
VAX = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}])
CARD = Card(bytes(range(16)))


def one_line(result: Any, code: int) -> str:
    assert result.code == code, result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err
    return str(result.err.strip())


def records(run_cli: Any) -> int:
    tables = run_cli("seizure-view", "--json").json()["tables"]
    return len(next(t for t in tables if t["name"] == "records")["rows"])


def test_output_into_a_missing_folder_is_refused_before_anything_is_stored(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    shown = run_cli("card", "qr", "--card", "-", "--qr-png", str(tmp_path / "card.png"), stdin=CARD.code + "\n")
    assert shown.code == 0 and (tmp_path / "card.png").stat().st_mode & 0o777 == 0o600  # the card: private
    missing = tmp_path / "no-such-folder"
    for option in ("--qr-svg", "--qr-png"):
        result = run_cli("card", "new", "--no-show-qr", "--entries", "-", option, str(missing / "card.img"), stdin=VAX)
        assert one_line(result, 2) == (
            f"haven: Cannot write the QR code to '{missing / 'card.img'}': the folder '{missing}' does not exist."
        )
    assert records(run_cli) == 0  # no visit stored under a card nobody received
    result = run_cli("card", "qr", "--card", "-", "--qr-svg", str(tmp_path), stdin=CARD.code + "\n")
    assert one_line(result, 2).endswith("is a directory. (see 'haven card qr --help')")
    assert (
        run_cli("visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{CARD.code}\n{VAX}").code == 0
    )
    result = run_cli("cert", "issue", "--card", "-", "--sheet", str(missing / "sheet.html"), stdin=CARD.code + "\n")
    assert one_line(result, 2).endswith("does not exist.")
    audit = run_cli("audit", "show", "--json").json()
    assert "certificate.issue" not in json.dumps(audit)  # nothing was issued


def test_an_entries_file_that_is_not_utf8_or_is_a_folder(run_cli: Any, tmp_path: Path) -> None:
    latin1 = '[{"type": "note", "date": "2026-10-01", "text": "caf\xe9"}]'.encode("latin-1")
    (tmp_path / "latin1.json").write_bytes(latin1)
    result = run_cli("visit", "add", "--card", "-", "--entries", str(tmp_path / "latin1.json"), stdin=CARD.code + "\n")
    at = latin1.index(0xE9) + 1
    assert one_line(result, 2) == f"haven: The entries file '{tmp_path / 'latin1.json'}' is not UTF-8 text (byte {at})."
    result = run_cli("visit", "add", "--card", "-", "--entries", str(tmp_path), stdin=CARD.code + "\n")
    assert one_line(result, 2) == (  # click's own check, as one line too
        f"haven: Invalid value for '--entries': File '{tmp_path}' is a directory. (see 'haven visit add --help')"
    )


def test_bytes_that_are_not_utf8_on_standard_input_are_one_line(run_cli: Any, tmp_path: Path) -> None:
    """A real process reading real standard input: Python keeps undecodable bytes as lone surrogates."""
    assert run_cli("init", "--admin", "amal").code == 0
    env = {**os.environ, "HAVEN_HOME": str(tmp_path / "site"), "HAVEN_PASSPHRASE": ADMIN_PASSPHRASE}
    note = b'[{"type": "note", "date": "2026-10-01", "text": "caf\xe9"}]'
    done = subprocess.run(
        [str(HAVEN), "visit", "add", "--card", "-", "--first-visit", "--entries", "-"],
        input=CARD.code.encode() + b"\n" + note,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr.decode()) == (
        2,
        f"haven: The entries document is not valid JSON: character {note.index(0xE9) + 1} is not UTF-8 text.\n",
    )
    assert records(run_cli) == 0


@pytest.fixture
def full_disk(small_disk: Path) -> Path:  # noqa: F811 (the fixture imported above)
    """The small tmpfs of the fault tests, filled to the last byte."""
    fd = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return small_disk


def test_an_output_file_on_a_full_disk_is_one_line_and_leaves_no_part(run_cli: Any, full_disk: Path) -> None:
    result = run_cli("card", "qr", "--card", "-", "--qr-png", str(full_disk / "card.png"), stdin=CARD.code + "\n")
    assert one_line(result, 7) == (  # 7: a full disk, as for every other write (docs/errors.md)
        f"haven: The disk is full: '{full_disk / 'card.png'}' could not be written, so nothing was saved."
    )
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
