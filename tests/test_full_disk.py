"""A nearly full disk, stepped down to full, on real small file systems: every write ends in success or
the one-line full-disk error (exit 7), never a crash; reading a history still works when nothing fits.

The file systems are made by the test: loop-mounted ext4 with 1 KiB blocks (what mkfs picks for any
file system under 512 MB: every small USB stick) and with 4 KiB blocks, and a tmpfs. Mounting needs
root; the test skips, saying so, only where mounting is impossible.
"""

from __future__ import annotations

import contextlib
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
from tests.helpers_site import ADMIN

REPO = Path(__file__).resolve().parents[1]
VISIT = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
FULL = "haven: The disk is full; nothing of this change was saved. Free some space."


def _mount(args: list[str], target: Path) -> None:
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here (needs root): {done.stderr.strip() or done.returncode}")


@pytest.fixture(params=["ext4-1k", "ext4-4k", "tmpfs"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if request.param == "tmpfs":
        _mount(["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs"], mount_point)
    else:
        image = tmp_path / "ext4.img"
        with open(image, "wb") as f:
            f.truncate(4 * 1024 * 1024)
        block = "1024" if request.param == "ext4-1k" else "4096"
        mkfs = ["mkfs.ext4", "-q", "-F", "-b", block, "-m", "0", str(image)]  # -m 0: no blocks kept for root
        made = subprocess.run(mkfs, capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"cannot make an ext4 file system here: {made.stderr.strip()}")
        _mount(["-o", "loop", str(image)], mount_point)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def _haven(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HAVEN_HOME=str(home), HAVEN_PASSPHRASE=ADMIN, HAVEN_KDF_PROFILE="test")
    return subprocess.run(
        [sys.executable, "-m", "haven", *args], input=stdin, capture_output=True, text=True, cwd=REPO, env=env
    )


def _leave_free(disk: Path, leave: int) -> None:
    """Refill the disk so that about ``leave`` bytes stay free."""
    filler = disk / "filler"
    with contextlib.suppress(FileNotFoundError):
        filler.unlink()
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(0, free - leave))
        f.flush()
        os.fsync(f.fileno())


@pytest.mark.slow
def test_visit_add_near_full_never_crashes_and_history_reads_on_a_full_disk(small_disk: Path) -> None:
    home = small_disk / "site"
    assert _haven(home, "init", "--admin", "Ana").returncode == 0
    cards: list[Card] = []
    outcomes = []
    for leave in range(64 * 1024, -1, -4 * 1024):  # 17 steps from 64 KiB free down to none
        _leave_free(small_disk, leave)
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
    _leave_free(small_disk, 0)
    for card in cards:
        done = _haven(home, "history", "--card", card.code, "--json")
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)["visits"]) == 1
        assert done.stderr.strip().splitlines() == [HISTORY_NOT_AUDITED]
