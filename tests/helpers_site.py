"""Helpers for the site-security tests: sites with cheap keys, passphrases, file searches."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haven.errors import SiteError
from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.kdf import TEST_PARAMS, Calibration
from haven.site.roles import ALL_ROLES, Role
from haven.site.site import Site, UnlockedSite
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore
from tests.helpers_clock import NOW

# Five random BIP39 words each (55 bits): accepted by the strength check.
ADMIN = "grain twenty head airport swarm"
ADMIN_DURESS = "inquiry current useless three smoke"
CLINICIAN = "census unable gallery jump essay happy"
CLINICIAN_DURESS = "crane found canal crucial divide visa"
WRONG = "carbon annual frown question three side"
CHEAP = Calibration(TEST_PARAMS, 0.0)


class FakeSleep:
    """Records requested sleeps; sleeps for real only when ``real`` is set."""

    def __init__(self, real: bool = False) -> None:
        self.calls: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)

    @property
    def waits(self) -> list[float]:
        """Backoff waits (the settle padding after the derivation is a sleep too; it is always < 1 s)."""
        return [s for s in self.calls if s >= 1.0]


def make_site(
    home: Path,
    *,
    sleep: Callable[[float], None] | None = None,
    settle: float | None = 0.0,
    now: Callable[[], dt.datetime] = lambda: NOW,
) -> Site:
    return Site(
        SiteFolder(home),
        SecuritySettings(kdf_profile="test"),
        sleep=sleep or time.sleep,
        now=now,
        settle=settle,
    )


def new_site(
    home: Path,
    *,
    admin: str = "Ana",
    duress: str | None = ADMIN_DURESS,
    clinician: bool = True,
    erase_after: int = 0,
    calibration: Calibration = CHEAP,
    **site_kwargs: object,
) -> Site:
    """A site with admin Ana (and clinician Min unless ``clinician`` is False); sessions closed."""
    site = make_site(home, **site_kwargs)  # type: ignore[arg-type]
    with site.create(admin, ADMIN, duress=duress, calibration=calibration, erase_after=erase_after) as session:
        if clinician:
            session.add_staff("Min", Role.CLINICIAN, CLINICIAN, CLINICIAN_DURESS if duress else None)
    return site


def open_as(site: Site, passphrase: str = ADMIN) -> UnlockedSite:
    return site.unlock(passphrase)


def folder_bytes(home: Path) -> dict[str, bytes]:
    """Every file under ``home`` (the database, its journal, key slots, anything else), by relative path."""
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def find_in_files(files: dict[str, bytes], needles: dict[str, bytes]) -> list[tuple[str, str]]:
    """(needle label, file) for every needle found in any file."""
    return [(label, name) for label, needle in needles.items() for name, data in files.items() if needle in data]


__all__ = ["ALL_ROLES", "FakeSleep", "find_in_files", "folder_bytes", "make_site", "new_site", "open_as"]


NOBODY = 65534  # uid and gid of the unprivileged user "nobody"


@contextlib.contextmanager
def share_with_nobody() -> Iterator[Path]:
    """A folder user nobody may enter (pytest's own are private to root); removed afterwards."""
    shared = Path(tempfile.mkdtemp(prefix="haven-nobody-"))
    try:
        shared.chmod(0o755)
        yield shared
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def as_nobody(args: list[str], home: Path) -> int:
    """Exit code of ``haven ARGS`` run in a forked child as user nobody, who owns ``home`` (root ignores modes)."""
    from haven.cli import main as cli_main

    for path in [home, *home.iterdir()]:
        os.chown(path, NOBODY, NOBODY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.environ["HAVEN_HOME"] = str(home)
            code = cli_main(args)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@contextlib.contextmanager
def raw_write(store: SQLiteStore) -> Iterator[Any]:
    """The SQLite connection inside one write transaction: raw SQL, as someone editing the file could
    write it (Haven itself writes only through the Store protocol)."""
    with store._write() as conn:
        yield conn


@dataclass(frozen=True)
class MemoryFolder(SiteFolder):
    """A site folder whose database is a :class:`MemoryStore` (the key slots and attempts counter stay
    files): a whole site, staff, audit, role keys, visits and certificates, on the in-memory store."""

    data: list[MemoryStore] = field(default_factory=list, compare=False)  # the store once made

    def exists(self) -> bool:
        return self.keyslots_path.exists() or bool(self.data)

    def create(self, key: bytes | None = None) -> MemoryStore:  # type: ignore[override]
        if self.exists():
            raise SiteError(f"A Haven site already exists in {self.home}.")
        self.make_home()
        self.data.append(MemoryStore())
        return self.data[0]

    def open(self, key: bytes | None = None) -> MemoryStore:  # type: ignore[override]
        if not self.data:
            raise SiteError("This memory site has no database.")
        return self.data[0].reopen()

    def remove_files(self) -> None:
        self.data.clear()
        super().remove_files()


def memory_site(home: Path, *, now: Callable[[], dt.datetime] = lambda: NOW) -> Site:
    """A site like :func:`make_site` whose database is in memory (see :class:`MemoryFolder`)."""
    return Site(MemoryFolder(home), SecuritySettings(kdf_profile="test"), sleep=time.sleep, now=now, settle=0.0)
