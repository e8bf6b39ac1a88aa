"""A nearly full disk, stepped down to full, on real small file systems: every write ends in success or
the one-line full-disk error (exit 7), never a crash; reading a history still works when nothing fits.

The file systems are made by the test: loop-mounted ext4 with 1 KiB blocks (what mkfs picks for any
file system under 512 MB: every small USB stick) and with 4 KiB blocks, and a tmpfs. Mounting needs
root; the test skips, saying so, only where mounting is impossible.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.cli.visits import HISTORY_NOT_AUDITED
from haven.core.card import Card
from tests import disks
from tests.disks import ALL_KINDS, fill
from tests.helpers_site import ADMIN

REPO = Path(__file__).resolve().parents[2]
VISIT = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
FULL = "haven: The disk is full; nothing of this change was saved. Free some space."


@pytest.fixture(params=ALL_KINDS)
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    with disks.small_disk(tmp_path, request.param, mib=2) as mount_point:
        yield mount_point


def _haven(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HAVEN_HOME=str(home), HAVEN_PASSPHRASE=ADMIN, HAVEN_KDF_PROFILE="test")
    return subprocess.run(
        [sys.executable, "-m", "haven", *args], input=stdin, capture_output=True, text=True, cwd=REPO, env=env
    )


@pytest.mark.slow
def test_visit_add_near_full_never_crashes_and_history_reads_on_a_full_disk(small_disk: Path) -> None:
    home = small_disk / "site"
    assert _haven(home, "init", "--admin", "Ana").returncode == 0
    cards: list[Card] = []
    outcomes = []
    for leave in range(64 * 1024, -1, -4 * 1024):  # 17 steps from 64 KiB free down to none
        fill(small_disk, leave)
        card = Card(secrets.token_bytes(16))
        add = ("visit", "add", "--card", card.code, "--first-visit", "--entries", "-")
        done = _haven(home, *add, stdin=json.dumps(VISIT))
        outcomes.append((leave, done.returncode))
        assert done.returncode in (0, 7), f"{leave} bytes free: exit {done.returncode} ({done.stderr.strip()!r})"
        if done.returncode == 0:
            cards.append(card)
        else:
            assert done.stderr.strip().splitlines() == [FULL]
            assert done.stdout == ""
    assert any(code == 7 for _, code in outcomes), outcomes  # the disk did fill up
    assert cards, outcomes
    # Nothing fits any more, and every acknowledged visit still reads back.
    fill(small_disk, 0)
    for card in cards:
        done = _haven(home, "history", "--card", card.code, "--json")
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)["visits"]) == 1
        assert done.stderr.strip().splitlines() == [HISTORY_NOT_AUDITED]
