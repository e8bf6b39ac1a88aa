"""The site folder: where a site's files live, created private to its owner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from haven.errors import SiteError
from haven.store.sqlite import SQLiteStore

DB_NAME = "site.db"


@dataclass(frozen=True)
class SiteFolder:
    home: Path

    @property
    def db_path(self) -> Path:
        return self.home / DB_NAME

    def exists(self) -> bool:
        return self.db_path.exists()

    def files(self) -> list[Path]:
        """Every file in the folder (database, -wal, -shm and anything else), sorted."""
        if not self.home.exists():
            return []
        return sorted(p for p in self.home.rglob("*") if p.is_file())

    def create(self) -> SQLiteStore:
        if self.exists():
            raise SiteError(f"A Haven site already exists in {self.home}.")
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)
        return SQLiteStore(self.db_path)

    def open(self) -> SQLiteStore:
        if not self.exists():
            raise SiteError(f"There is no Haven site in {self.home}. Run 'haven init' first (or set --home).")
        return SQLiteStore(self.db_path)
