"""A sync import killed mid-merge (kill -9) leaves either nothing of the bundle or all of it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haven.sync.buckets import apply, deltas
from tests.helpers_site import ADMIN
from tests.sync.network import make_network
from tests.sync.test_convergence import record

ROWS = 20_000


@pytest.mark.slow
def test_a_killed_import_leaves_nothing_or_everything(tmp_path: Path) -> None:
    net = make_network(tmp_path, members=("a", "b"))
    with net.sites["a"].unlock(ADMIN) as session:
        session.store.merge(record() for _ in range(ROWS))
    bundle = tmp_path / "a.bundle"
    bundle.write_bytes(net.export("a"))
    home = net.sites["b"].folder.home
    journal = home / "site.db-journal"
    env = {**os.environ, "HAVEN_PASSPHRASE": ADMIN, "HAVEN_KDF_PROFILE": "test"}
    outcomes = []
    for trial in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "haven", "--home", str(home), "sync", "import", str(bundle)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + (60 if trial == 0 else random.uniform(0.3, 2.5))
        while proc.poll() is None and time.monotonic() < deadline:
            if trial == 0 and journal.exists() and journal.stat().st_size > 0:
                break  # the commit is being written: the worst moment to die
            time.sleep(0.001)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        outcomes.append(proc.returncode)
        with net.sites["b"].unlock(ADMIN) as session:
            rows = list(session.store.records())
            assert len(rows) in (0, ROWS)
            assert session.store.sync_buckets() == apply({}, deltas((r.locator, r.id) for r in rows))
            session.audit.verify()
            if rows:
                break
    assert -signal.SIGKILL in outcomes  # at least one import really was killed
    # Whatever the kills left, the next import completes it.
    net.import_("b", bundle.read_bytes())
    assert len(net.rows("b")) == ROWS
