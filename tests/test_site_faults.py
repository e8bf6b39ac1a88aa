"""Faults: a full disk, kill -9 in the middle of a transaction, a damaged database page.

Each ends in a clear error (a Haven exit code and one line, no traceback), loses
no acknowledged visit, and leaves nothing half-written.

The full-disk tests mount a small tmpfs, which needs root (CI runs as root); they
skip, saying so, only where mounting is impossible.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven.app.clinic import Clinic
from haven.core.card import Card
from haven.errors import StoreCorruptError, StoreFullError
from haven.store import journal
from tests.helpers_clock import NOW
from tests.helpers_site import ADMIN, folder_bytes, make_site, new_site

VISIT = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip() or done.returncode}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the disk, leaving about ``leave`` bytes free."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_disk_full_during_visits_loses_no_acknowledged_visit(small_disk: Path) -> None:
    site = new_site(small_disk / "site", clinician=False)
    filler = _fill(small_disk, 160 * 1024)
    cards = []
    with site.unlock(ADMIN) as session:
        clinic = session.clinic(today=lambda: NOW.date())
        with pytest.raises(StoreFullError):
            for _ in range(10_000):
                card = Card(secrets.token_bytes(16))
                clinic.add_visit(card, VISIT, first_visit=True)
                cards.append(card)
        refused = card
    assert len(cards) >= 3
    # The site still opens on the full disk, and holds exactly what was acknowledged.
    with site.unlock(ADMIN) as session:
        clinic = session.clinic()
        assert all(len(clinic.history(c).visits) == 1 for c in cards)
        with pytest.raises(Exception, match="No records"):
            clinic.history(refused)
        assert session.store.integrity_check() == "ok"
    filler.unlink()
    with site.unlock(ADMIN) as session:  # space again: work goes on
        session.clinic(today=lambda: NOW.date()).add_visit(refused, VISIT, first_visit=True)


def test_disk_full_from_the_command_line_is_one_clear_line(small_disk: Path, run_cli) -> None:
    home = str(small_disk / "site")
    assert run_cli("--home", home, "init", "--admin", "Ana").code == 0
    _fill(small_disk, 0)
    result = None
    for _ in range(50):  # the first writes may still fit in a page the database already has
        card = Card(secrets.token_bytes(16))
        result = run_cli(
            "--home",
            home,
            "visit",
            "add",
            "--card",
            card.code,
            "--first-visit",
            "--entries",
            "-",
            stdin=json.dumps(VISIT),
        )
        if result.code != 0:
            break
    assert result is not None and result.code == 7
    assert result.err.strip().splitlines() == [
        "haven: The disk is full; nothing of this change was saved. Free some space."
    ]


@pytest.mark.parametrize("leave", [0, 8 * 1024, 20 * 1024, 48 * 1024])
def test_init_on_a_full_disk_leaves_nothing_half_made(small_disk: Path, leave: int) -> None:
    _fill(small_disk, leave)
    site = make_site(small_disk / "site")
    try:
        site.create("Ana", ADMIN).close()
    except StoreFullError:
        assert not site.folder.home.exists() or list(site.folder.home.iterdir()) == []
    else:
        site.unlock(ADMIN).close()  # it fitted: then it is whole


_CHILD = """
import contextlib, sys, time
sys.path.insert(0, 'tests')
from pathlib import Path
from tests.helpers_site import make_site, ADMIN
from haven.core.card import Card
from haven.app.clinic import Clinic
from haven.store import sqlite

home, stop_after = Path(sys.argv[1]), int(sys.argv[2])
write, commits = sqlite.SQLiteStore._write, [0]

@contextlib.contextmanager
def write_then_wait(self):
    if getattr(self._local, "writing", False):  # a block joining the open transaction: not a commit
        with write(self) as conn:
            yield conn
        return
    # The visits are inserted, not yet committed: say so, and (on the batch to be killed) wait there.
    with write(self) as conn:
        yield conn
        print("uncommitted", flush=True)
        if commits[0] == stop_after:
            time.sleep(60)
    commits[0] += 1

sqlite.SQLiteStore._write = write_then_wait
session = make_site(home).unlock(ADMIN)
visit = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
card = Card(bytes(range(16)))
items = ((card, visit, None) for _ in range(10**7))
session.clinic().import_visits(items, batch=25, progress=lambda n: print("acknowledged", n, flush=True))
"""


@pytest.mark.slow
def test_kill_9_mid_transaction_loses_no_acknowledged_visit(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", clinician=False)
    card = Card(bytes(range(16)))
    acknowledged = 0
    for stop_after in (0, 3, 5):  # kill inside the first, the fourth and the sixth batch's transaction
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(site.folder.home), str(stop_after)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        acks, inside = 0, 0
        while inside <= stop_after:
            line = child.stdout.readline()
            assert line, "the importing process ended early"
            if line.startswith("acknowledged"):
                acks = int(line.split()[1])
            elif line.startswith("uncommitted"):
                inside += 1
        os.kill(child.pid, signal.SIGKILL)  # 25 visits inserted, COMMIT not yet run
        child.wait()
        child.stdout.close()
        assert acks == stop_after * 25
        acknowledged += acks
        with site.unlock(ADMIN) as session:
            history = Clinic(session.store).history(card) if acknowledged else None
            stored = len(history.visits) if history else len(list(session.store.records()))
            assert history is None or history.unreadable == 0
            assert stored == acknowledged  # every acknowledged visit, and nothing of the killed batch
            assert session.store.integrity_check() == "ok"
        left = site.folder.home / "site.db-journal"  # nothing left to roll back
        assert not left.exists() or left.read_bytes()[:8] != journal.MAGIC


def _damage(path: Path, pages: range, page_size: int = 4096) -> None:
    data = bytearray(path.read_bytes())
    for page in pages:
        offset = page * page_size + 200
        if offset < len(data):
            data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["first page", "every other page"])
def test_a_damaged_database_page_is_a_clear_error(tmp_path: Path, where: str, run_cli) -> None:
    home = tmp_path / "site"
    assert run_cli("--home", str(home), "init", "--admin", "Ana").code == 0
    site = make_site(home)
    with site.unlock(ADMIN) as session:
        session.clinic(today=lambda: NOW.date()).add_visit(Card(bytes(16)), VISIT, first_visit=True)
    db = home / "site.db"
    pages = len(db.read_bytes()) // 4096
    _damage(db, range(1) if where == "first page" else range(1, pages))
    before = {k: v for k, v in folder_bytes(home).items() if k != "attempts"}
    with pytest.raises(StoreCorruptError):
        site.unlock(ADMIN)
    result = run_cli("--home", str(home), "staff", "list")
    assert result.code == 7
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "damaged" in result.err
    assert "Traceback" not in result.err and "ERROR CORE" not in result.err
    assert {k: v for k, v in folder_bytes(home).items() if k != "attempts"} == before  # nothing rewritten
