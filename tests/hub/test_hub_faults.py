"""Faults: a hub killed mid-push, a sync killed mid-pull, twenty sites at once; nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from haven.hub import wire
from haven.store.memory import MemoryStore
from haven.store.sqlite import SQLiteStore
from tests.hub.network import HubProcess, Network, fake_rows, hub_rows, keys_of, serving, sync

ROOT = Path(__file__).resolve().parents[2]
ROWS = wire.ROWS_PER_BATCH * 7 // 2  # three and a half batches: a kill lands between two of them

pytestmark = pytest.mark.slow


def _wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_hub_killed_mid_push_and_restarted_loses_nothing_and_the_sync_resumes(
    hub: HubProcess, network: Network, database: str
) -> None:
    site = MemoryStore()
    site.merge(fake_rows(ROWS))
    result: list[object] = []

    def push() -> None:
        try:
            result.append(sync(site, network.sites[0], hub.url))
        except Exception as exc:  # the test reports it below
            result.append(exc)

    pusher = threading.Thread(target=push)
    pusher.start()
    _wait_for(lambda: hub_rows(database) > 0)  # the first batch is stored: the push is under way
    hub.kill()
    stored = hub_rows(database)
    assert 0 < stored < ROWS
    time.sleep(1.0)
    hub.start()  # the client, retrying, finds it again and goes on
    pusher.join(timeout=120)
    assert len(result) == 1 and not isinstance(result[0], Exception), result
    assert hub_rows(database) == ROWS
    other = MemoryStore()
    assert sync(other, network.sites[1], hub.url).pulled == ROWS
    assert keys_of(other) == keys_of(site)


def test_a_sync_killed_mid_pull_loses_nothing_and_a_rerun_resumes(
    hub: HubProcess, network: Network, tmp_path: Path
) -> None:
    source = MemoryStore()
    source.merge(fake_rows(ROWS))
    assert sync(source, network.sites[0], hub.url).pushed == ROWS
    path = tmp_path / "site.db"
    SQLiteStore(path).close()
    env = {**os.environ, "HUB_TEST_SIGNING_KEY": network.sites[1].signing.private_bytes_raw().hex()}
    command = [sys.executable, "-m", "tests.hub.sync_process", str(path), hub.url]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = SQLiteStore(path)
    try:
        _wait_for(lambda: reader.count() > 0)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        partial = reader.count()
    finally:
        reader.close()
    assert 0 < partial < ROWS, partial
    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    pulled, pushed = map(int, rerun.stdout.split())
    assert (pulled, pushed) == (ROWS - partial, 0)  # only what was still missing
    site = SQLiteStore(path)
    try:
        assert keys_of(site) == keys_of(source)
    finally:
        site.close()


def test_twenty_sites_syncing_at_once_all_converge_without_an_error(database: str, tmp_path: Path) -> None:
    network = Network.of(20)
    stores = [MemoryStore() for _ in network.sites]
    for store in stores:
        store.merge(fake_rows(100))
    union = set().union(*(keys_of(s) for s in stores))
    errors: list[Exception] = []
    start = threading.Barrier(len(stores))

    def run(i: int) -> None:
        start.wait()
        try:
            for _ in range(2):  # the second round brings what others pushed after this site's first
                sync(stores[i], network.sites[i], hub.url)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    with serving(database, network, tmp_path) as hub:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert errors == []
        for store, keys in zip(stores, network.sites, strict=True):  # for those done before others pushed
            sync(store, keys, hub.url)
    assert all(keys_of(s) == union for s in stores)
    assert hub_rows(database) == 2_000
