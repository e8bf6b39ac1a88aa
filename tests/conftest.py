"""Shared fixtures: a fixed clock, deterministic randomness, stores and a CLI runner."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from haven.cli import main as cli_main
from haven.core.card import Card
from haven.services import Clinic
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore

TODAY = dt.date(2026, 11, 29)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def seeded_bytes(seed: int) -> Callable[[int], bytes]:
    """A deterministic stand-in for secrets.token_bytes (tests only)."""
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


@pytest.fixture
def today() -> dt.date:
    return TODAY


@pytest.fixture
def clinic() -> Clinic:
    return Clinic(MemoryStore(), today=lambda: TODAY, random_bytes=seeded_bytes(1))


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
    """Run ``haven ARGS`` in-process with HAVEN_HOME in a temporary folder."""
    monkeypatch.setenv("HAVEN_HOME", str(tmp_path / "site"))

    def run(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            import io

            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = cli_main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
