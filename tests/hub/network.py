"""A network for the hub's tests: a root, member sites' sync keys, a signed roster, and a hub served by a
real ``haven hub serve`` process on a real PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, x25519

from haven.certs.signing_keys import public_bytes
from haven.core.records import SealedRecord
from haven.hub.client import HubConnection, HubSync, sync_with_hub
from haven.hub.wire import Signer
from haven.store.base import Store
from haven.store.hub import HubStore
from haven.sync.roster import Roster, SiteKeys, new_roster

HAVEN = [sys.executable, "-c", "import sys; from haven.cli import main; sys.exit(main())"]


@dataclass
class Network:
    """The network's root and its member sites' sync keys; ``roster()`` signs the current membership."""

    root: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    sites: list[SiteKeys] = field(default_factory=list)
    removed: list[SiteKeys] = field(default_factory=list)
    _last: Roster | None = None

    @classmethod
    def of(cls, members: int) -> Network:
        return cls(sites=[SiteKeys.generate(secrets.token_bytes) for _ in range(members)])

    def roster(self) -> bytes:
        roster = new_roster(
            self._last,
            public_bytes(self.root),
            [s.member for s in self.sites],
            [s.member.sign_public for s in self.removed],
            {1 if self._last is None else self._last.key_version + 1: x25519.X25519PrivateKey.generate()},
        )
        self._last = roster
        return roster.sign(self.root)

    def remove(self, site: SiteKeys) -> bytes:
        self.sites.remove(site)
        self.removed.append(site)
        return self.roster()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def haven(*args: str, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HAVEN, *args], input=stdin.decode() if stdin else None, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class HubProcess:
    """``haven hub serve`` in its own process (started, killed, restarted by the tests)."""

    database: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubProcess:
        command = [*HAVEN, "hub", "serve", "--database", self.database, "--port", str(self.port), *self.args]
        if self._log is None:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=self._log, env={**os.environ, **self.env}
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub did not start: {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            time.sleep(0.05)
        raise RuntimeError("the hub did not start listening in 30 s")

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def rss_kib(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def init_hub(database: str, roster: bytes, tmp: Path) -> None:
    path = tmp / f"roster-{secrets.token_hex(4)}.cose"
    path.write_bytes(roster)
    done = haven("hub", "init", "--database", database, "--roster", str(path))
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def serving(database: str, network: Network, tmp: Path, *args: str) -> Iterator[HubProcess]:
    """A hub made for ``network`` on ``database`` and served with ``args`` for the block."""
    init_hub(database, network.roster(), tmp)
    hub = HubProcess(database, args=args).start()
    try:
        yield hub
    finally:
        hub.stop()


def hub_rows(database: str) -> int:
    db = HubStore(database)
    try:
        return db.count()
    finally:
        db.close()


def sync(store: Store, site: SiteKeys, url: str) -> HubSync:
    conn = HubConnection(url, Signer(site.signing))
    try:
        return sync_with_hub(store, conn)
    finally:
        conn.close()


def fake_rows(count: int, size: int = 1) -> list[SealedRecord]:
    """Rows with the shape of sealed records (random bytes: the hub never opens one)."""
    return [
        SealedRecord(
            secrets.token_bytes(16), secrets.token_bytes(16), b"\x01" + secrets.token_bytes(12 + 256 * size + 16)
        )
        for _ in range(count)
    ]


def keys_of(store: Store) -> set[tuple[bytes, bytes]]:
    return {(r.locator, r.id) for r in store.records()}


def merge_all(store: Store, rows: Sequence[SealedRecord]) -> None:
    store.merge(rows)
