"""The site folder: where a site's files live, created private to its owner.

A site is three files (plus SQLite's rollback journal ``site.db-journal``, empty between commits):
``keyslots`` (the master key, wrapped per staff passphrase), ``attempts`` (the
wrong-passphrase counter) and ``site.db`` (everything else, encrypted whole by
SQLCipher under the master key). :class:`haven.site.site.Site` is what opens it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from haven.errors import SiteError, StoreCorruptError
from haven.site.keyslots import fsync_dir
from haven.store.sqlite import SQLiteStore

DB_NAME = "site.db"
KEYSLOTS_NAME = "keyslots"
ATTEMPTS_NAME = "attempts"
DB_SIDE_FILES = ("-journal",)
# A database made before Haven used a rollback journal had a write-ahead log and its index beside it:
# erasing a site removes them too, since a WAL holds earlier versions of pages.
LEGACY_SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class SiteFolder:
    home: Path

    @property
    def db_path(self) -> Path:
        return self.home / DB_NAME

    @property
    def keyslots_path(self) -> Path:
        return self.home / KEYSLOTS_NAME

    @property
    def attempts_path(self) -> Path:
        return self.home / ATTEMPTS_NAME

    def db_files(self) -> list[Path]:
        """The database and every file SQLite may keep beside it."""
        return [self.db_path] + [self.home / (DB_NAME + suffix) for suffix in DB_SIDE_FILES + LEGACY_SIDE_FILES]

    def exists(self) -> bool:
        return self.keyslots_path.exists() or self.db_path.exists()

    def files(self) -> list[Path]:
        """Every file in the folder (database, journal, key slots and anything else), sorted."""
        if not self.home.exists():
            return []
        return sorted(p for p in self.home.rglob("*") if p.is_file())

    def make_home(self) -> bool:
        """Create the folder private to its owner; True if it did not exist before."""
        existed = self.home.exists()
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)
        return not existed

    def create(self, key: bytes | None = None) -> SQLiteStore:
        """A new database (under ``key``, the site master key) in a new or empty site folder.

        The file is made ``0600`` before SQLite opens it: SQLite gives its journal (and
        any ``-wal`` or ``-shm``) the database's mode, so they are private too.
        """
        if self.exists():
            raise SiteError(f"A Haven site already exists in {self.home}.")
        self.make_home()
        os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return SQLiteStore(self.db_path, key=key)

    def open(self, key: bytes | None = None) -> SQLiteStore:
        """The existing database, opened with ``key`` (never made anew: an empty file is an error)."""
        try:
            st = self.db_path.stat()
        except FileNotFoundError:
            raise SiteError(
                f"The database of the site in {self.home} is missing (site.db). Its data cannot be opened; "
                "restore the folder from a backup."
            ) from None
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
            raise StoreCorruptError(
                f"The database of the site in {self.home} is {'empty' if stat.S_ISREG(st.st_mode) else 'not a file'} "
                "(site.db): its data is gone. Restore the folder from a backup; nothing was changed."
            )
        if st.st_mode & 0o077:  # made by an older Haven: SQLite copies this mode to its journal
            os.chmod(self.db_path, 0o600)
        return SQLiteStore(self.db_path, key=key)

    def remove_files(self) -> None:
        """Unlink the database, its side files, the key slots and the attempts counter (what a site is).

        Instant, whatever the database's size. The database's old pages are useless once
        the key that encrypted them is gone (the key slots are overwritten before this), so
        they are not overwritten. Unlinked, not emptied in place: a process that still has
        the old database open (a server, a second terminal) keeps its now-dead copy and
        cannot block the erase.
        """
        for path in [*self.db_files(), self.keyslots_path, self.attempts_path]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if self.home.exists():
            fsync_dir(self.home)
