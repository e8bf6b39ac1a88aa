"""Fixtures for the hub: one PostgreSQL server for the session, a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.network import HubProcess, Network, init_hub
from tests.pg import PostgresServer, running_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    return postgres.new_database()


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
