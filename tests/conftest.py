"""Shared fixtures: a fixed clock, deterministic randomness, stores and a CLI runner."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from haven.app.clinic import Clinic, unsealed_tally
from haven.cli import main as cli_main
from haven.core.card import Card
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore
from tests.helpers_clock import TODAY, seeded
from tests.pg import PostgresServer, running_server

# The passphrase run_cli unlocks with (five random BIP39 words: strong enough to be accepted).
ADMIN_PASSPHRASE = "grain twenty head airport swarm"


@pytest.fixture(autouse=True)
def _cheap_site_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sites made by tests use cheap Argon2id parameters (HAVEN_KDF_PROFILE=test, see haven/site/config.py).

    Tests that check the real calibration delete the variable themselves.
    """
    monkeypatch.setenv("HAVEN_KDF_PROFILE", "test")
    monkeypatch.delenv("HAVEN_PASSPHRASE", raising=False)


@pytest.fixture
def today() -> dt.date:
    return TODAY


@pytest.fixture
def clinic() -> Clinic:
    return Clinic(MemoryStore(), today=lambda: TODAY, random_bytes=seeded(1), seal_counts=unsealed_tally)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "site.db")
    yield store
    store.close()


@pytest.fixture
def card() -> Card:
    return Card(bytes(range(16)))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run ``haven ARGS`` in-process with HAVEN_HOME in a temporary folder, unlocking with ADMIN_PASSPHRASE."""
    monkeypatch.setenv("HAVEN_HOME", str(tmp_path / "site"))
    monkeypatch.setenv("HAVEN_PASSPHRASE", ADMIN_PASSPHRASE)

    def run(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            import io

            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = cli_main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for this test process (see tests/pg.py); never skipped when missing."""
    try:
        with running_server() as server:
            yield server
    except RuntimeError as exc:  # (raised before the yield: the server could not start)
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of a fresh, empty database on the test server."""
    return postgres.new_database()
