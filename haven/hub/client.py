"""A site's sync with the hub (``haven sync --hub URL``): reconcile, pull what is missing, push the rest.

The site and the hub compare bucket digests from the root down, only where they differ
(haven/sync/reconcile.py), then the row fingerprints of the buckets that differ; the site then pulls
the rows it lacks and pushes the rows the hub lacks, in batches. Each pulled batch is checked (every
row's shape) and merged in one transaction at the site, each pushed batch in one at the hub, and both
merges are idempotent: a sync killed at any point, or a hub restarted under it, loses nothing, and the
next sync moves only what is still missing. The client retries a request a few times (signed anew)
before giving up, so a hub restarting mid-sync is waited for.
"""

from __future__ import annotations

import http.client
import secrets
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from haven.app.actions import Action
from haven.core.records import SealedRecord
from haven.errors import HavenError, HubError, InputError, NotAMemberError, RosterError
from haven.hub import wire
from haven.site.site import UnlockedSite
from haven.store.base import Store
from haven.sync import reconcile
from haven.sync.buckets import bucket_of, fingerprint

RETRIES = 6
RETRY_WAIT_S = 0.5  # doubled after each failed attempt: about 30 s in all
TIMEOUT_S = 60.0

# The hub's refusals that name a class of the tree of their own; the rest are HubError.
_REFUSALS: dict[str, type[HavenError]] = {"not-a-member": NotAMemberError, "roster": RosterError}


def hub_address(url: str) -> urllib.parse.SplitResult:
    """The parts of a hub's ``url``; :class:`InputError` unless it is an http:// or https:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"The hub's address {url!r} is not an http:// or https:// URL.")
    return parts


@dataclass
class HubConnection:
    """Signed requests to one hub over HTTP(S), counting the bytes each way."""

    url: str
    signer: wire.RequestSigner
    context: ssl.SSLContext | None = None
    clock: Callable[[], float] = time.time
    timeout: float = TIMEOUT_S
    retries: int = RETRIES
    sent: int = 0
    received: int = 0
    requests: int = 0
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = hub_address(self.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""  # never empty: hub_address checked it
        self._port = parts.port
        self._base = parts.path.rstrip("/")

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                context = self.context or ssl.create_default_context()
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self, name: str, doc: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``doc`` to ``/v1/<name>``; the answer, or the hub's refusal raised as its error class."""
        body = wire.encode(doc)
        path = f"{self._base}/v1/{name}"
        wait = RETRY_WAIT_S
        for attempt in range(self.retries + 1):
            headers = self.signer.headers("POST", path, int(self.clock()), secrets.token_bytes(wire.NONCE_BYTES), body)
            headers["content-type"] = "application/cbor"
            try:
                conn = self._connect()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                status = response.status
            except ssl.SSLCertVerificationError as exc:  # waiting will not make it trusted
                self.close()
                raise HubError(
                    f"Cannot reach the hub at {self.url}: its TLS certificate is not trusted here "
                    f"({exc.verify_message}); give its CA in SSL_CERT_FILE.",
                    problem="unreachable",
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == self.retries:
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                    raise HubError(f"Cannot reach the hub at {self.url}: {reason}.", problem="unreachable") from None
                time.sleep(wait)
                wait *= 2
                continue
            self.requests += 1
            self.sent += len(body)
            self.received += len(answer)
            if status >= 500 and attempt < self.retries:  # the hub's database away for a moment: wait, ask again
                time.sleep(wait)
                wait *= 2
                continue
            return self._answer(status, answer)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, status: int, answer: bytes) -> dict[str, Any]:
        try:
            doc = wire.decode(answer)
        except HubError:
            raise HubError(f"The hub answered {status} with something that is not its API.", problem="answer") from None
        error = doc.get("error")
        if isinstance(error, dict):
            code, message = str(error.get("code")), str(error.get("message"))
            details = error.get("details")
            problem = str(details.get("problem", code)) if isinstance(details, dict) else code
            cls = _REFUSALS.get(code)
            if cls is not None:
                raise cls(f"The hub refused: {message}")
            raise HubError(f"The hub refused: {message}", problem=problem)
        if status != 200:
            raise HubError(f"The hub answered {status}.", problem="answer")
        return doc


@dataclass
class HubPeer:
    """The hub as the remote side of a reconciliation (haven/sync/reconcile.py)."""

    conn: HubConnection

    def nodes(self, level: int, indices: Sequence[int]) -> reconcile.Nodes:
        try:
            return self._nodes(level, indices)
        except InputError:
            raise HubError("The hub's answer is malformed (node digests).", problem="answer") from None

    def _nodes(self, level: int, indices: Sequence[int]) -> reconcile.Nodes:
        found: reconcile.Nodes = {}
        parents = sorted({i >> reconcile.FANOUT_BITS for i in indices})
        if level > 0 and reconcile.children(parents) == sorted(indices):  # the usual ask: 8 bytes a child back
            for chunk in _chunks(parents, wire.MAX_BUCKETS // 16):
                answer = self.conn.call("nodes", {"level": level, "parents": chunk})
                found.update(reconcile.unpack_children(self._bytes(answer, "children"), chunk))
            return found
        for chunk in _chunks(list(indices), wire.MAX_BUCKETS):
            answer = self.conn.call("nodes", {"level": level, "indices": chunk})
            found.update(reconcile.unpack_nodes(self._bytes(answer, "nodes")))
        return found

    def fingerprints(self, buckets: Sequence[int]) -> dict[int, set[bytes]]:
        found: dict[int, set[bytes]] = {}
        for chunk in _chunks(list(buckets), 4096):
            packed = self._bytes(self.conn.call("fingerprints", {"buckets": chunk}), "fingerprints")
            try:
                found.update(reconcile.unpack_fingerprints(packed))
            except InputError:
                raise HubError("The hub's answer is malformed (fingerprints).", problem="answer") from None
        return found

    def rows(self, fingerprints: Mapping[int, set[bytes]]) -> Iterator[list[SealedRecord]]:
        """The rows with these fingerprints, a batch at a time, each row's shape checked."""
        batch: dict[int, set[bytes]] = {}
        size = 0
        for bucket in sorted(fingerprints):
            for fp in sorted(fingerprints[bucket]):
                batch.setdefault(bucket, set()).add(fp)
                size += 1
                if size == wire.ROWS_PER_BATCH:
                    yield self._rows(batch)
                    batch, size = {}, 0
        if batch:
            yield self._rows(batch)

    def _rows(self, batch: Mapping[int, set[bytes]]) -> list[SealedRecord]:
        doc = self.conn.call("rows", {"fingerprints": reconcile.pack_fingerprints(batch)})
        try:
            return wire.rows_from(doc.get("rows"))
        except HubError as exc:
            raise HubError(f"The hub sent a malformed row: {exc.message}", problem="answer") from None

    def merge(self, rows: Sequence[SealedRecord]) -> int:
        new = self.conn.call("merge", {"rows": wire.rows_to(rows)}).get("new")
        return new if isinstance(new, int) else 0

    @staticmethod
    def _bytes(doc: dict[str, Any], name: str) -> bytes:
        value = doc.get(name)
        if not isinstance(value, bytes):
            raise HubError("The hub's answer is malformed.", problem="answer")
        return value


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class HubSync:
    """What one sync did: rows pulled into the site, rows pushed to the hub, and what it cost."""

    pulled: int
    pushed: int
    buckets: int  # leaf buckets that differed
    requests: int
    bytes_sent: int
    bytes_received: int

    def to_doc(self) -> dict[str, Any]:
        return {
            "pulled": self.pulled,
            "pushed": self.pushed,
            "differing_buckets": self.buckets,
            "requests": self.requests,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
        }


def sync_with_hub(
    store: Store, conn: HubConnection, audit: Callable[[int], None] | None = None, push: bool = True
) -> HubSync:
    """Reconcile ``store`` with the hub, pull what it lacks and (``push``) push what the hub lacks (see the
    module). Each pulled batch is merged with its ``audit`` entry (of how many rows were new) in one transaction."""
    local, remote = reconcile.StorePeer(store), HubPeer(conn)
    buckets = reconcile.differing_buckets(local, remote)
    if not buckets:
        return HubSync(0, 0, 0, conn.requests, conn.sent, conn.received)
    plan = reconcile.compare_fingerprints(local.fingerprints(buckets), remote.fingerprints(buckets))
    pulled = 0
    for batch in remote.rows(plan.fetch):
        wanted = [r for r in batch if _fingerprinted(r, plan.fetch)]
        with store.transaction():
            new = store.merge(wanted)
            if new and audit is not None:
                audit(new)
        pulled += new
    pushed = 0
    outgoing = local.rows(plan.send) if plan.send and push else []
    for chunk in _chunks(outgoing, wire.ROWS_PER_BATCH):
        pushed += remote.merge(chunk)
    return HubSync(pulled, pushed, len(buckets), conn.requests, conn.sent, conn.received)


def _fingerprinted(record: SealedRecord, wanted: Mapping[int, set[bytes]]) -> bool:
    """Whether the hub sent a row that was asked for (not one slipped into another bucket)."""
    return fingerprint(record.locator, record.id) in wanted.get(bucket_of(record.locator), set())


def sync_site(session: UnlockedSite, url: str, context: ssl.SSLContext | None = None) -> HubSync:
    """``haven sync --hub URL``: this site's rows and the hub's made one set, signed with the site's sync
    key (a coordinator's: only their role keys open it). Pulled batches are audited as ``sync.pull``
    with their rows, and the whole sync as ``sync.hub`` with the rows pushed."""
    from haven.sync.service import Sync  # the site's sync keys, as haven/sync keeps them

    keys, _ = Sync(session).identity()  # checks the permission; NotAMemberError before admission
    conn = HubConnection(url, wire.Signer(keys.signing), context)
    try:
        done = sync_with_hub(session.store, conn, session.auditor("sync.pull"))
    finally:
        conn.close()
    session.record(Action.SYNC_HUB, done.pushed)
    return done
