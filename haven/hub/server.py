"""The hub's HTTP API: members reconcile, pull and push sealed rows; nothing else is served.

Every request is a POST of a CBOR map, signed by a current member (:mod:`haven.hub.wire`); every answer
is a CBOR map, a refusal ``{"error": {"code", "message", "details"}}`` with the status that fits.

    /v1/nodes         {"level": 0-4, "indices": [n, ...]}  -> {"nodes": pack_nodes(...)}   (non-empty only)
                      {"level": 1-4, "parents": [n, ...]}  -> {"children": pack_children(...)} (16 per parent)
    /v1/fingerprints  {"buckets": [n, ...]}               -> {"fingerprints": pack_fingerprints(...)}
    /v1/rows          {"fingerprints": pack_fingerprints} -> {"rows": pack_rows(...)}
    /v1/merge         {"rows": pack_rows(...)}            -> {"new": n}

(``pack_*``: haven/sync/reconcile.py; ``pack_rows``: haven/sync/bundle.py, each row's shape checked.)

The first three are the remote half of a reconciliation (haven/sync/reconcile.py), the hub's rows
answering as any store does.

The server keeps nothing about its requests but the nonces of the last ``WINDOW_S`` seconds, in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from haven.errors import HavenError, HubError, InputError, NotAMemberError, RosterError, StoreError, by_class
from haven.hub import RESHUFFLE_AFTER_S, pull_credential, wire
from haven.hub.roster import current_roster
from haven.store.hub import HubStore
from haven.sync import reconcile
from haven.sync.roster import Member, Roster

CBOR = "application/cbor"
CERTIFICATE = pull_credential.CERTIFICATE_HEADER


@dataclass
class Nonces:
    """Nonces seen in the last window, in memory only (a restart forgets them: requests signed before
    the server started are refused instead)."""

    window_s: int = wire.WINDOW_S
    _seen: dict[bytes, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first_time(self, nonce: bytes, now: float) -> bool:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if t > now - 2 * self.window_s}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


@dataclass
class Reshuffler:
    """Reshuffles the rows once pushes have been quiet for ``settle_s`` (and at start if one was due)."""

    db: HubStore
    settle_s: float = RESHUFFLE_AFTER_S
    _last_push: float = 0.0
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        if self.db.reshuffle_due():
            self.pushed()
        self._thread = threading.Thread(target=self._run, name="hub-reshuffle", daemon=True)
        self._thread.start()

    def pushed(self) -> None:
        self._last_push = time.monotonic()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                quiet = time.monotonic() - self._last_push
                if quiet >= self.settle_s:
                    break
                self._stop.wait(self.settle_s - quiet)
            if self._stop.is_set():
                return
            try:
                self.db.reshuffle()
            except HavenError:
                self._stop.wait(self.settle_s)  # the database is away: try again after the next push
                self._wake.set()


def _answer(doc: dict[str, Any], status: int = 200) -> Response:
    return Response(wire.encode(doc), status_code=status, media_type=CBOR)


# The hub's statuses: by class, and for its own refusals by their problem.
_CLASS_STATUSES: dict[type[HavenError], int] = {
    HavenError: 500,
    InputError: 400,
    StoreError: 503,
    NotAMemberError: 403,
    RosterError: 503,
    HubError: 400,
}
_PROBLEM_STATUSES = {
    "unsigned": 401,
    "signature": 401,
    "stale": 401,
    "replay": 409,
    "too-large": 413,
    "not-found": 404,
    "method": 405,
    "bad-request": 400,
    "no-roster": 503,
    "pull-only": 403,
}


def _refusal(exc: HavenError) -> Response:
    status = _PROBLEM_STATUSES.get(exc.problem or "") if isinstance(exc, HubError) else None
    return _answer({"error": exc.to_dict()}, status or by_class(_CLASS_STATUSES, exc))


@dataclass
class Hub:
    """The hub's state: its database, its roster, the nonces of the last window."""

    db: HubStore
    clock: Callable[[], float] = time.time
    reshuffler: Reshuffler | None = None
    nonces: Nonces = field(default_factory=Nonces)
    started: float = field(default_factory=time.time)
    _roster: Roster | None = None

    _roster_bytes: bytes | None = None
    _peer: reconcile.StorePeer | None = None

    def roster(self) -> Roster:
        """The roster as stored now (read at every request, so a removal counts at once)."""
        data = self.db.get_setting("roster")
        if self._roster is None or data != self._roster_bytes:
            self._roster, self._roster_bytes = current_roster(self.db), data
        if self._roster is None:
            raise HubError(
                "This hub has no roster: run 'haven hub init' with the network's roster.", problem="no-roster"
            )
        return self._roster

    def authenticate(self, request: Request, body: bytes, write: bool = False) -> bytes:
        """The member who signed this request; a refusal for anyone else, a stale or replayed request, and
        for a ``write`` signed with a pull-only credential (haven/hub/pull_credential.py)."""
        headers = request.headers
        try:
            member = bytes.fromhex(headers[wire.MEMBER_HEADER])
            signed_at = int(headers[wire.TIME_HEADER])
            nonce = bytes.fromhex(headers[wire.NONCE_HEADER])
            signature = bytes.fromhex(headers[wire.SIGNATURE_HEADER])
            pull_key = headers.get(pull_credential.PULL_KEY_HEADER)
            pull = None if pull_key is None else (bytes.fromhex(pull_key), bytes.fromhex(headers[CERTIFICATE]))
        except (KeyError, ValueError):
            raise HubError("The request is not signed by a member.", problem="unsigned") from None
        if len(nonce) != wire.NONCE_BYTES:
            raise HubError("The request's nonce is not 16 bytes.", problem="unsigned")
        member_site = self.roster().check_sender(member)  # NotAMemberError: removed, or never admitted
        if pull is not None:
            member_site = self._pull_signer(member_site, pull, write)
        if not member_site.verify(
            signature, wire.signed_message(request.method, request.url.path, signed_at, nonce, body)
        ):
            raise HubError("The request's signature does not check out.", problem="signature")
        now = self.clock()
        if abs(now - signed_at) > wire.WINDOW_S or signed_at < self.started - 1:
            raise HubError(
                "The request was signed too long ago (or the clocks differ by minutes): sign it again.",
                problem="stale",
            )
        if not self.nonces.first_time(nonce, now):
            raise HubError("This request was already answered (a replay).", problem="replay")
        return member

    @staticmethod
    def _pull_signer(member: Member, pull: tuple[bytes, bytes], write: bool) -> Member:
        """The pull-only key that signs this request, if ``member`` certified it and it does not ``write``."""
        signer = pull_credential.pull_signer(member, *pull)
        if signer is None:
            raise HubError("The request's pull key is not certified by its member.", problem="signature")
        if write:
            raise HubError("A pull-only credential cannot push to the hub.", problem="pull-only")
        return signer

    # ------------------------------------------------------------ operations

    def nodes(self, doc: dict[str, Any]) -> dict[str, Any]:
        level = wire.level_from(doc.get("level"))
        if "parents" in doc and level > 0:  # the usual ask: every child of the nodes that differed
            parents = sorted(set(wire.indices_from(doc.get("parents"), level - 1)))
            found = self.peer().nodes(level, reconcile.children(parents))
            return {"children": reconcile.pack_children(found, parents)}
        indices = wire.indices_from(doc.get("indices"), level)
        return {"nodes": reconcile.pack_nodes(self.peer().nodes(level, indices), digest_bytes=8)}

    def fingerprints(self, doc: dict[str, Any]) -> dict[str, Any]:
        buckets = wire.indices_from(doc.get("buckets"), 4)
        return {"fingerprints": reconcile.pack_fingerprints(self.peer().fingerprints(buckets))}

    def rows(self, doc: dict[str, Any]) -> dict[str, Any]:
        packed = doc.get("fingerprints")
        try:
            wanted = reconcile.unpack_fingerprints(packed if isinstance(packed, bytes) else b"\0")
        except InputError:
            raise HubError("The fingerprints asked for are malformed.", problem="bad-request") from None
        if sum(len(f) for f in wanted.values()) > wire.ROWS_PER_BATCH:
            raise HubError(f"Ask for at most {wire.ROWS_PER_BATCH} rows at once.", problem="bad-request")
        return {"rows": wire.rows_to(self.peer().rows(wanted))}

    def merge(self, doc: dict[str, Any]) -> dict[str, Any]:
        new = self.db.merge(wire.rows_from(doc.get("rows")))
        if new:
            self._peer = None
        if new and self.reshuffler is not None:
            self.reshuffler.pushed()
        return {"new": new}

    def peer(self) -> reconcile.StorePeer:
        """The hub's rows as one side of a reconciliation. Its tree of digests is read once and kept in
        memory until the next merge changes it (this process is the database's only writer)."""
        peer = self._peer
        if peer is None:
            peer = self._peer = reconcile.StorePeer(self.db)
        return peer


async def _read_body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit (a declared length is checked first)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > wire.MAX_BODY):
        raise HubError(f"A request body is at most {wire.MAX_BODY} bytes.", problem="too-large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > wire.MAX_BODY:
            raise HubError(f"A request body is at most {wire.MAX_BODY} bytes.", problem="too-large")
        chunks.append(chunk)
    return b"".join(chunks)


def create_hub_app(hub: Hub) -> Starlette:
    """The ASGI app serving ``hub``; the reshuffler (if any) runs while the app does."""

    def endpoint(
        operation: Callable[[dict[str, Any]], dict[str, Any]], write: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                body = await _read_body(request)
                await run_in_threadpool(hub.authenticate, request, body, write)
                doc = wire.decode(body)
                return _answer(await run_in_threadpool(operation, doc))
            except HavenError as exc:
                return _refusal(exc)

        return handle

    routes = [
        Route("/v1/nodes", endpoint(hub.nodes), methods=["POST"]),
        Route("/v1/fingerprints", endpoint(hub.fingerprints), methods=["POST"]),
        Route("/v1/rows", endpoint(hub.rows), methods=["POST"]),
        Route("/v1/merge", endpoint(hub.merge, write=True), methods=["POST"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _refusal(HubError("The hub answers only its sync API (/v1/...).", problem="not-found"))

    async def wrong_method(request: Request, exc: Exception) -> Response:
        return _refusal(HubError("The hub's API takes POST only.", problem="method"))

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        if hub.reshuffler is not None:
            await run_in_threadpool(hub.reshuffler.start)
        try:
            yield
        finally:
            if hub.reshuffler is not None:
                await run_in_threadpool(hub.reshuffler.stop)
            hub.db.close()

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: wrong_method}, lifespan=lifespan)
