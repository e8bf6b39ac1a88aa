"""Fixtures for the hub: a fresh database per test on the session's PostgreSQL server (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.network import HubProcess, Network, init_hub


@pytest.fixture
def database(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def network() -> Network:
    return Network.of(3)


@pytest.fixture
def hub(database: str, network: Network, tmp_path: Path) -> Iterator[HubProcess]:
    """A hub on a fresh database, its roster listing ``network``'s sites, served by its own process."""
    init_hub(database, network.roster(), tmp_path)
    process = HubProcess(database).start()
    yield process
    process.stop()
