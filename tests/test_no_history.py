"""The database files keep no history: a copy of a running site, or of one killed mid-write, holds the
last committed state and at most the page images from before the commit in flight; a removed staff
member's name is in no file; a damaged or missing journal never loses an acknowledged visit silently.

Each copy is read page image by page image with the master key (tests/helpers_pages.py), so "no
history" means no earlier version of any page anywhere in the files, not just none SQLite would use.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from haven.app.clinic import Clinic
from haven.core.card import Card
from haven.errors import StoreCorruptError
from haven.site.rolekeys import member_setting
from haven.site.roles import Role
from haven.store import journal
from tests.helpers_clock import NOW
from tests.helpers_pages import db_files, found_in_pages
from tests.helpers_site import ADMIN, CLINICIAN, find_in_files, folder_bytes, make_site, new_site

REPO = Path(__file__).resolve().parents[1]
COMMITS = 6
CARD = Card(bytes(range(16)))
VISIT = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
SITE_FILES = {"site.db", "site.db-journal", "keyslots", "attempts"}


def state(n: int) -> bytes:
    return b"state-%04d" % n


IN_FLIGHT = b"state-INFLIGHT"
LAST = state(COMMITS - 1)

# Each commit records a visit, bumps its counters, writes an audit entry and a new "probe" setting
# naming the commit: an earlier commit's page images would show an earlier probe. Then the process
# stops inside one more commit (or none) and waits to be copied and killed.
_CHILD = """
import os, sys, time
from pathlib import Path
from haven.core.card import Card
from haven.app.clinic import Clinic
from tests.helpers_site import ADMIN, make_site
from tests.helpers_clock import NOW

home, commits, in_flight = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
session = make_site(home).unlock(ADMIN)
clinic = session.clinic(today=lambda: NOW.date())
visit = {"entries": [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2026-10-01"}]}
for n in range(commits):
    clinic.add_visit(Card(bytes(range(16))), visit, first_visit=n == 0)
    session.store.put_setting("probe", b"state-%04d" % n)
    session.record("visit.add")
conn = session.store._conn()
if in_flight == "writing the main file":
    # As if killed while COMMIT writes the main file: a tiny cache spills changed pages there now,
    # after syncing the journal, exactly as COMMIT does.
    conn.execute("PRAGMA cache_spill = ON")
    conn.execute("PRAGMA cache_size = 8")
if in_flight != "none":
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE settings SET value = ? WHERE name = 'probe'", (b"state-INFLIGHT",))
    rows = [(os.urandom(32), os.urandom(16), os.urandom(300)) for _ in range(2000)]
    conn.executemany("INSERT INTO records (locator, id, sealed) VALUES (?, ?, ?)", rows)
print("ready", flush=True)
time.sleep(120)
"""

MOMENTS = ["none", "inside a transaction", "writing the main file"]


def _run_then_copy(tmp_path: Path, in_flight: str) -> tuple[bytes, Path, Path]:
    """The master key, a copy of the folder while the writer runs, and one after it was killed."""
    site = new_site(tmp_path / "site", clinician=False)
    with site.unlock(ADMIN) as session:
        key = session._master_key
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(site.folder.home), str(COMMITS), in_flight],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        running = tmp_path / "running"
        shutil.copytree(site.folder.home, running)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    killed = tmp_path / "killed"
    shutil.copytree(site.folder.home, killed)
    return key, running, killed


def _read_back(home: Path) -> tuple[int, int, bytes | None] | str:
    """(visits on the card, records stored, the probe setting), or "damaged" for a clear StoreCorruptError."""
    try:
        with make_site(home).unlock(ADMIN) as session:
            visits = len(Clinic(session.store).history(CARD).visits)
            return visits, session.store.count(), session.store.get_setting("probe")
    except StoreCorruptError:
        return "damaged"


@pytest.mark.slow
@pytest.mark.parametrize("in_flight", MOMENTS)
def test_a_copy_of_a_running_or_killed_site_holds_no_earlier_commit(tmp_path: Path, in_flight: str) -> None:
    key, running, killed = _run_then_copy(tmp_path, in_flight)
    allowed = {LAST} | ({IN_FLIGHT} if in_flight != "none" else set())
    for copy in (running, killed):
        found = found_in_pages(key, copy, [state(n) for n in range(COMMITS)] + [IN_FLIGHT])
        assert LAST in found  # the search reads the pages (the control)
        assert found <= allowed, f"page images of earlier commits: {sorted(found - allowed)}"
        assert {p.name for p in copy.iterdir()} <= SITE_FILES
        # Opened, the copy is exactly the last acknowledged state (a hot journal is rolled back).
        assert _read_back(copy) == (COMMITS, COMMITS, LAST)
        left = copy / "site.db-journal"
        assert not left.exists() or left.read_bytes()[:8] != journal.MAGIC
        with make_site(copy).unlock(ADMIN) as session:
            assert session.store.integrity_check() == "ok"


DAMAGES = ("deleted", "truncated", "magic byte flipped", "header byte flipped", "page byte flipped")


def _damage(home: Path, how: str) -> None:
    """Damage every database file beside site.db that holds anything (the journal; a WAL if there is one)."""
    for path in db_files(home):
        data = bytearray(path.read_bytes())
        if path.name == "site.db" or not data:
            continue
        if how == "deleted":
            path.unlink()
            continue
        if how == "truncated":
            data = data[: len(data) // 2]
        elif how == "magic byte flipped":
            data[0] ^= 0x01
        elif how == "header byte flipped":
            data[12] ^= 0x01  # the checksum seed
        elif how == "page byte flipped":
            data[min(len(data) - 1, 512 + 4 + 2000)] ^= 0x01
        path.write_bytes(bytes(data))


@pytest.mark.slow
def test_a_damaged_or_missing_journal_never_loses_acknowledged_visits_silently(tmp_path: Path) -> None:
    """Killed inside a transaction (Haven's page cache never spills: the main file changes only inside
    COMMIT), whatever happens to the journal, the copy reads back exactly as last acknowledged, or
    (a journal header that is neither blank nor whole) the damage is a clear StoreCorruptError."""
    _, _, killed = _run_then_copy(tmp_path, "inside a transaction")
    for how in DAMAGES:
        copy = tmp_path / how
        shutil.copytree(killed, copy)
        _damage(copy, how)
        expected = ("damaged",) if how == "magic byte flipped" else ((COMMITS, COMMITS, LAST),)
        assert _read_back(copy) in expected, how


@pytest.mark.slow
def test_a_journal_lost_while_commit_wrote_the_main_file_keeps_the_acknowledged_visits(tmp_path: Path) -> None:
    """Killed while COMMIT writes the main file (a window of milliseconds), then the journal damaged:
    a clear StoreCorruptError, never a silent partial roll-back. Deleted, nothing can tell: the file
    is torn between the last acknowledged state and the unacknowledged commit (docs/design.md, §4);
    here the acknowledged visits still read."""
    _, _, killed = _run_then_copy(tmp_path, "writing the main file")
    for how in DAMAGES:
        copy = tmp_path / how
        shutil.copytree(killed, copy)
        _damage(copy, how)
        outcome = _read_back(copy)
        if how == "deleted":
            assert outcome == "damaged" or (outcome[0] == COMMITS and outcome[1] >= COMMITS), outcome
        else:
            assert outcome == "damaged", how


def test_a_removed_staff_members_name_is_in_no_file(tmp_path: Path) -> None:
    name = "Zoltan Quixley-Abara"
    forms = {"utf-8": name.encode(), "utf-16-le": name.encode("utf-16-le"), "utf-16-be": name.encode("utf-16-be")}
    needles = list(forms.values())
    site = new_site(tmp_path / "site", clinician=False)
    home = site.folder.home
    session = site.unlock(ADMIN)
    try:
        key = session._master_key
        clinic = session.clinic(today=lambda: NOW.date())
        member = session.add_staff(name, Role.CLINICIAN, CLINICIAN)
        for n in range(3):
            clinic.add_visit(Card(bytes([n]) * 16), VISIT, first_visit=True)
            session.record("visit.add")
        # The name itself is sealed to coordinators (docs/site-security.md, "Keys by role"): the sealed
        # staff row and member record are what a coordinator's key would open, so they must go too.
        [(sealed_row,)] = session.store.query("SELECT sealed FROM staff WHERE id = ?", (member.id,))
        record = session.store.get_setting(member_setting(member.id))
        assert record is not None
        needles += [bytes(sealed_row), record]
        assert found_in_pages(key, home, needles) == {bytes(sealed_row), record}  # the control: the search sees them
        session.remove_staff(name)
        for n in range(3, 6):
            clinic.add_visit(Card(bytes([n]) * 16), VISIT, first_visit=True)
            session.record("visit.add")
        assert find_in_files(folder_bytes(home), forms) == []  # raw files, running
        assert found_in_pages(key, home, needles) == set()  # decrypted, every page image of every file
    finally:
        session.close()
    assert find_in_files(folder_bytes(home), forms) == []
    assert found_in_pages(key, home, needles) == set()
