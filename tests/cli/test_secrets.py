"""Cards and PINs never go on the command line or into a file: standard input, or a prompt that does not echo.

The docs and the tour are held to it too: every command they show is scanned, and README's "Using it" is
run as written.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import pytest

from haven.cli import cli
from haven.core.card import Card
from tests.conftest import ADMIN_PASSPHRASE
from tests.test_docs import commands

ROOT = Path(__file__).resolve().parents[2]
HAVEN = Path(sys.executable).parent / "haven"
VAX = json.dumps([{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}])
CARD = Card(bytes(range(16)))


# --- commands that would put a card or a PIN in argv, the shell history or a file ---------------------------
VALUE = r"(?:=|\s+)(?!-(?:[\s`\]\)|]|$))\S"  # an option's value other than '-'
FORBIDDEN = {
    "a card after --card": re.compile(r"--card" + VALUE),
    "a PIN file": re.compile(r"--pin-file" + VALUE),
    "a PIN on the command line": re.compile(r"--pin(?![-\w])"),
    "a card written to a file": re.compile(r"card (?:new|qr)\b[^|\n]*(?:>|--qr-(?:png|svg))|\btee\b"),
    "a passphrase in the command": re.compile(r"HAVEN_PASSPHRASE=['\"]?[^$'\"\s]"),
}


def commands_in_markdown(text: str) -> list[str]:
    """Shell blocks, and inline code that starts with a haven command."""
    blocks = re.findall(r"^```(?:sh|bash|console|shell)\n(.*?)^```", text, re.M | re.S)
    inline = [span for span in re.findall(r"`([^`\n]+)`", text) if re.match(r"(?:\S*/)?haven ", span)]
    return [line for block in blocks for line in block.splitlines()] + inline


def help_examples() -> list[str]:
    out = []
    for path, command in commands(cli):
        example = (command.help or "").split("Example:", 1)[-1]
        out.extend(f"{path}: {line}" for line in example.splitlines() if line.strip())
    assert cli.help
    out.extend(cli.help.split("Example:", 1)[-1].splitlines())
    return out


def offences(lines: list[str]) -> list[str]:
    return [f"{what}: {line.strip()}" for line in lines for what, rule in FORBIDDEN.items() if rule.search(line)]


def test_the_rules_catch_what_they_must() -> None:
    bad = [
        'haven history --card "$(jq -r .qr card.json)"',
        "haven visit add --card=ABCD --entries -",
        "haven card new --json > card.json",
        "haven card new --qr-png card.png",
        "haven history --card - --pin-file pin.txt",
        "HAVEN_PASSPHRASE='grain twenty' haven seizure-view",
    ]
    assert len(offences(bad)) == len(bad)
    good = ["printf '%s\\n' \"$card\" | haven history --card -", "haven history --card - --pin-file -", "`[--card -]`"]
    assert offences(good) == []


def test_no_doc_or_help_example_puts_a_card_or_pin_in_argv_or_a_file() -> None:
    lines = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines.extend(f"{doc.name}: {line}" for line in commands_in_markdown(doc.read_text("utf-8")))
    lines.extend(help_examples())
    assert any("--card -" in line for line in lines)
    assert offences(lines) == []


def test_the_tour_prints_no_secret_in_a_command(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("demo", "--home", str(tmp_path / "demo"))
    assert result.code == 0, result.err
    shown = [line for line in result.out.splitlines() if "haven " in line]
    assert any("history" in line for line in shown)
    assert offences(shown) == []
    doc = run_cli("demo", "--home", str(tmp_path / "demo2"), "--json").json()
    for holder in doc["holders"]:
        assert holder["qr"] not in "\n".join(shown) and " ".join(holder["words"]) not in "\n".join(shown)


# --- --card -, --pin-file - and the prompt ---------------------------------------------------------------


def test_card_pin_and_entries_share_standard_input_in_order(run_cli: Any) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    new = run_cli("card", "new", "--json", "--no-show-qr", "--pin-file", "-", stdin="4829\n")
    assert new.code == 0 and new.json()["pin"] is True
    code = new.json()["qr"]
    both = ("--card", "-", "--pin-file", "-")
    added = run_cli("visit", "add", *both, "--first-visit", "--entries", "-", stdin=f"{code}\n4829\n{VAX}")
    assert added.code == 0, added.err
    history = run_cli("history", "--card", "-", "--pin-file", "-", "--json", stdin=f"{code}\n4829\n")
    assert history.code == 0 and len(history.json()["visits"]) == 1
    assert run_cli("history", "--card", "-", "--pin-file", "-", stdin=f"{code}\n0000\n").code == 5


def test_no_card_and_no_terminal_says_how_to_give_one(run_cli: Any) -> None:
    result = run_cli("history", stdin="")
    assert result.code == 2
    assert result.err.strip() == (
        "haven: This command needs the holder's card: give --card - and the card's words or code as the first "
        "line of standard input (or run it in a terminal to be asked)."
    )


def read_until(fd: int, wanted: bytes, seen: bytearray, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {wanted!r} from the terminal; it showed {bytes(seen)!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError(f"the terminal closed before {wanted!r}; it showed {bytes(seen)!r}")
        seen.extend(chunk)


def test_a_terminal_is_asked_for_the_card_without_echo(run_cli: Any, tmp_path: Path) -> None:
    """A real process on a real pseudo-terminal: the words typed at the prompt never appear on it."""
    assert run_cli("init", "--admin", "amal").code == 0
    first = run_cli("visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{CARD.code}\n{VAX}")
    assert first.code == 0
    env = {**os.environ, "HAVEN_PASSPHRASE": ADMIN_PASSPHRASE, "COLUMNS": "200", "TERM": "dumb"}
    main, child = pty.openpty()
    proc = subprocess.Popen([str(HAVEN), "history"], stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    seen = bytearray()
    try:
        read_until(main, b"Card words or code: ", seen)
        typed = " ".join(CARD.words())
        os.write(main, typed.encode() + b"\n")
        read_until(main, b"Comirnaty", seen)
        with pytest.raises(AssertionError, match="closed"):
            read_until(main, b"\x00never", seen, timeout=30)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    shown = seen.decode("utf-8", "replace")
    assert CARD.words()[0] not in shown and CARD.code not in shown


def test_readmes_using_it_runs_as_written(tmp_path: Path) -> None:
    """The block under "Using it", run by bash as a person would paste it (the passphrase typed at `read`)."""
    if shutil.which("jq") is None:
        pytest.skip("README's examples use jq, which this machine lacks (apt install jq)")
    readme = (ROOT / "README.md").read_text("utf-8")
    script = re.search(r"^## Using it\n+```sh\n(.*?)^```", readme, re.M | re.S)
    assert script, "README.md has no ```sh block under 'Using it'"
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.executable).parents[1])
    env = {
        **os.environ,
        "HAVEN_HOME": str(tmp_path / "site"),
        "HAVEN_PASSPHRASE": ADMIN_PASSPHRASE,  # init asks for it; a script gives it this way
        "HAVEN_KDF_PROFILE": "test",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.group(1)],
        input=ADMIN_PASSPHRASE + "\n",
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"valid":true' in done.stdout.replace(" ", "") and (work / "sheet.html").exists()
    assert sorted(p.name for p in work.iterdir()) == [".venv", "sheet.html"]  # no card in any file
    assert click.unstyle(done.stdout).count("Comirnaty") >= 1
