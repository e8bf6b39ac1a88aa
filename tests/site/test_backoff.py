"""Wrong passphrases: a growing wait that survives restarts and clock changes; optional erase after N."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haven.errors import LockedOutError, WrongPassphraseError
from haven.site.attempts import FAILURES_IF_MISSING, FILE_BYTES, AttemptCounter, delay_for
from haven.site.kdf import Calibration, KdfParams
from haven.web.handlers import http_status
from tests.helpers_site import ADMIN, CLINICIAN, WRONG, FakeSleep, make_site, new_site


def _wrong(site, times: int) -> None:
    for _ in range(times):
        with pytest.raises(WrongPassphraseError):
            site.unlock(WRONG)


def test_the_wait_grows_with_failures_and_success_resets_it(tmp_path: Path) -> None:
    sleep = FakeSleep()
    site = new_site(tmp_path / "s", sleep=sleep)
    _wrong(site, 5)
    assert sleep.waits == [1.0, 2.0]  # attempts 4 and 5 waited; the first three were free
    assert site.failures() == 5
    site.unlock(ADMIN).close()
    assert sleep.waits == [1.0, 2.0, 4.0]
    assert site.failures() == 0
    _wrong(site, 1)
    assert sleep.waits == [1.0, 2.0, 4.0]


def test_backoff_survives_a_restart(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", sleep=FakeSleep())
    _wrong(site, 4)
    sleep = FakeSleep()
    restarted = make_site(site.folder.home, sleep=sleep)  # a new process reads the same file
    _wrong(restarted, 1)
    assert sleep.waits == [2.0]


def test_backoff_ignores_clock_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wait is a sleep before trying, counted from the failure count: no clock reading decides it."""
    site = new_site(tmp_path / "s", sleep=FakeSleep())
    _wrong(site, 4)
    for shift in (-10 * 365 * 86400, +10 * 365 * 86400):
        monkeypatch.setattr(time, "time", lambda shift=shift: 1_800_000_000 + shift)
        sleep = FakeSleep()
        moved = make_site(site.folder.home, sleep=sleep)
        _wrong(moved, 1)
        assert sleep.waits and sleep.waits[0] >= 2.0


def test_locked_out_without_waiting_when_asked_not_to_wait(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", sleep=FakeSleep())
    _wrong(site, 3)
    with pytest.raises(LockedOutError) as caught:
        site.unlock(ADMIN, wait=False)
    assert caught.value.wait_seconds == 1.0 and caught.value.failures == 3
    assert site.failures() == 3  # refusing to wait is not an attempt
    assert http_status(LockedOutError) == 429


def test_deleting_the_attempts_file_does_not_reset_the_wait(tmp_path: Path) -> None:
    sleep = FakeSleep()
    site = new_site(tmp_path / "s", sleep=sleep)
    site.folder.attempts_path.unlink()
    _wrong(site, 1)
    assert sleep.waits == [delay_for(FAILURES_IF_MISSING)]
    assert len(site.folder.attempts_path.read_bytes()) == FILE_BYTES


def test_the_attempts_file_keeps_its_size_and_names_nobody(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", admin="Kim Sun-hee", sleep=FakeSleep())
    sizes = set()
    for _ in range(4):
        _wrong(site, 1)
        data = site.folder.attempts_path.read_bytes()
        sizes.add(len(data))
        assert b"Kim" not in data
    assert sizes == {FILE_BYTES}


def test_erase_after_n_wrong_passphrases_is_off_by_default(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", sleep=FakeSleep())
    _wrong(site, 12)
    site.unlock(CLINICIAN).close()


def test_erase_after_n_wrong_passphrases(tmp_path: Path) -> None:
    site = new_site(tmp_path / "s", sleep=FakeSleep())
    with site.unlock(ADMIN) as session:
        session.set_erase_after(4)
    _wrong(site, 3)
    site.unlock(ADMIN).close()  # a success in between resets the count
    _wrong(site, 4)
    for passphrase in (ADMIN, CLINICIAN):
        with pytest.raises(WrongPassphraseError):
            site.unlock(passphrase)


def test_erase_after_refuses_a_typo_sized_limit(tmp_path: Path) -> None:
    from haven.errors import InputError

    site = new_site(tmp_path / "s", clinician=False)
    with site.unlock(ADMIN) as session:
        for bad in (1, 2, -1):
            with pytest.raises(InputError):
                session.set_erase_after(bad)


def test_a_killed_attempt_still_counts(tmp_path: Path) -> None:
    """kill -9 during the key derivation: the attempt was counted before it started."""
    slow = Calibration(KdfParams(time_cost=40, memory_kib=64 * 1024, parallelism=1), 0.0)
    site = new_site(tmp_path / "s", clinician=False, duress=None, calibration=slow)
    script = (
        "import sys; sys.path.insert(0, 'tests');"
        "from helpers_site import make_site; from pathlib import Path;"
        f"make_site(Path({str(site.folder.home)!r})).unlock('{WRONG}')"
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    counter = AttemptCounter(site.folder.attempts_path)
    deadline = time.monotonic() + 20
    while counter.read() == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert counter.read() == 1
