"""After duress or panic, the folder is what a fresh `haven init` makes: side by side with a real one.

Compared: file names, sizes and modes; each file's birth, change and modification time
relative to the moment the site was (re)made; the salt; the accounts and the setting
names. The old site is made a few seconds before the erase, so a file kept from it (or
rewritten in place) shows an older birth time than any file of a fresh init.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from haven.site.keyslots import HEADER_BYTES
from tests.conftest import ADMIN_PASSPHRASE, Result
from tests.helpers_site import NOBODY, as_nobody, share_with_nobody

REGISTRAR = "census unable gallery jump essay happy"
REGISTRAR_DURESS = "crane found canal crucial divide visa"
AGE_SECONDS = 2.5  # how much older the erased site is than its erase
TOLERANCE_SECONDS = 1.0  # a fresh init writes all its files within this


def _birth(path: Path) -> float:
    """The birth time (statx), 0 where the file system does not record it."""
    out = subprocess.run(["stat", "-c", "%.9W", str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.strip() or 0)


def _shape(home: Path, made_at: float) -> dict[str, dict[str, Any]]:
    """Each entry of the folder (and the folder itself): size, mode, times relative to ``made_at``."""
    shape = {}
    for path in [home, *sorted(home.iterdir())]:
        st = path.stat()
        birth = _birth(path)
        times = {"mtime": st.st_mtime, "ctime": st.st_ctime} | ({"birth": birth} if birth else {})
        shape["." if path == home else path.name] = {
            "bytes": None if path == home else st.st_size,
            "mode": stat.filemode(st.st_mode),
            "times": {k: round(v - made_at, 1) for k, v in times.items()},
        }
    return shape


def _same_shape(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> None:
    assert set(a) == set(b)
    for name in a:
        assert (a[name]["bytes"], a[name]["mode"]) == (b[name]["bytes"], b[name]["mode"]), name
        assert set(a[name]["times"]) == set(b[name]["times"]), name
        for kind, t in a[name]["times"].items():
            assert abs(t - b[name]["times"][kind]) <= TOLERANCE_SECONDS, (name, kind, t, b[name]["times"][kind])


def _in(home: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("HAVEN_HOME", str(home))
    return run_cli(*args)


def _accounts_and_settings(home: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> Any:
    staff = _in(home, run_cli, monkeypatch, "staff", "list", "--json")
    assert staff.code == 0, staff.err
    seen = _in(home, run_cli, monkeypatch, "seizure-view", "--json")
    assert seen.code == 0, seen.err
    settings = next(t for t in seen.json()["tables"] if t["name"] == "settings")
    accounts = [{k: v for k, v in m.items() if k not in ("id",)} for m in staff.json()["staff"]]
    # Names only; a name that carries a random id (a member's record) is compared without it.
    return accounts, sorted(re.sub(r"/[0-9a-f]{32}$", "/<id>", row[0]) for row in settings["rows"])


def _old_site(home: Path, tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A site with an admin and a registrar who has a duress passphrase, some history; its key slot header."""
    assert _in(home, run_cli, monkeypatch, "init", "--admin", "Ana").code == 0
    (tmp_path / "reg").write_text(REGISTRAR + "\n")
    (tmp_path / "reg-duress").write_text(REGISTRAR_DURESS + "\n")
    added = _in(
        home, run_cli, monkeypatch, "staff", "add", "Bo", "--role", "registrar",
        "--passphrase-file", str(tmp_path / "reg"), "--duress-passphrase-file", str(tmp_path / "reg-duress"),
    )  # fmt: skip
    assert added.code == 0, added.err
    assert _in(home, run_cli, monkeypatch, "audit", "show").code == 0
    return (home / "keyslots").read_bytes()[:HEADER_BYTES]


def _erased_beside_a_fresh_init(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, passphrase: str, *erase: str
) -> tuple[Path, Path]:
    """An old site erased by ``haven ERASE`` (typed with ``passphrase``), then a real fresh init of Bo beside it.

    The fresh one runs the same command after its init; the two folders must match.
    """
    home = tmp_path / "erased"
    old_header = _old_site(home, tmp_path, run_cli, monkeypatch)
    time.sleep(AGE_SECONDS)
    made_at = time.time()
    monkeypatch.setenv("HAVEN_PASSPHRASE", passphrase)
    done = _in(home, run_cli, monkeypatch, *erase)
    assert done.code == 0, done.err
    after = _shape(home, made_at)
    fresh_home = tmp_path / "fresh"
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    fresh_at = time.time()
    assert _in(fresh_home, run_cli, monkeypatch, "init", "--admin", "Bo").code == 0
    if erase[0] != "panic":
        assert _in(fresh_home, run_cli, monkeypatch, *erase).code == 0
    _same_shape(after, _shape(fresh_home, fresh_at))
    new_header = (home / "keyslots").read_bytes()[:HEADER_BYTES]
    assert new_header[20:52] != old_header[20:52]  # a new salt: an earlier copy shows another installation
    assert new_header[:20] == old_header[:20]  # the same calibrated cost, as on any site of this machine
    return home, fresh_home


def test_after_duress_the_folder_and_accounts_are_a_fresh_inits(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The registrar is made to open the site and types the duress passphrase.
    home, fresh_home = _erased_beside_a_fresh_init(tmp_path, run_cli, monkeypatch, REGISTRAR_DURESS, "seizure-view")
    # The same accounts (the duress passphrase's owner holds every role, as init's admin does) and settings.
    fresh = _accounts_and_settings(fresh_home, run_cli, monkeypatch)
    monkeypatch.setenv("HAVEN_PASSPHRASE", REGISTRAR_DURESS)
    coerced = _accounts_and_settings(home, run_cli, monkeypatch)
    assert coerced == fresh
    assert [(m["name"], m["roles"]) for m in coerced[0]] == [("Bo", ["registrar", "clinician", "coordinator"])]


def test_after_panic_the_folder_is_a_fresh_locked_inits(
    tmp_path: Path, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = _erased_beside_a_fresh_init(tmp_path, run_cli, monkeypatch, ADMIN_PASSPHRASE, "panic", "--yes")
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)
    assert _in(home, run_cli, monkeypatch, "staff", "list").code == 8  # and nothing opens it


def test_panic_replaces_a_read_only_attempts_file_and_succeeds(
    run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only counter (as its owner, not root) no longer makes panic erase and then exit 6."""
    if os.geteuid() != 0:
        pytest.skip("needs root to hand the site to another user")
    with share_with_nobody() as shared:
        home = shared / "site"
        assert _in(home, run_cli, monkeypatch, "init", "--admin", "Ana").code == 0
        for path in [home, *home.iterdir()]:
            os.chown(path, NOBODY, NOBODY)
        (home / "attempts").chmod(0o400)
        salt = (home / "keyslots").read_bytes()[20:52]
        assert as_nobody(["panic", "--yes"], home) == 0
        assert (home / "keyslots").read_bytes()[20:52] != salt
        assert stat.S_IMODE((home / "attempts").stat().st_mode) == 0o600
        assert as_nobody(["staff", "list"], home) == 8
