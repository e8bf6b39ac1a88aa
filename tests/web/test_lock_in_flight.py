"""A real ``haven serve`` that locks, signs out, switches or erases its site while requests are in flight.

Closing the store under a request still reading it killed the server (SIGSEGV) or answered 500. Here many
clients read at once (threads with httpx, loopback only, bounded in count and time) while another client
signs the last session out, the server auto-locks, a duress passphrase rebuilds the site, an emergency erase
is pressed, a staff member is removed from a terminal, or ``haven panic`` erases the site from one. The
server must be alive afterwards, and every answer must be one that docs/web.md documents.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.web.conftest import free_port
from tests.web.test_serve import HAVEN, running, sign_in
from tests.web.test_serve import pytestmark as serve_marks

pytestmark = serve_marks
READERS = 8  # anonymous verifiers reading the trust list, each its own client
STAFF_READERS = 3  # threads sharing the signed-in client (one browser, several tabs)
TIMEOUT = httpx.Timeout(15.0)

# What each kind of request may answer (status, error code): docs/web.md.
ALLOWED = {
    # The list (also while locked: the one kept from the last unlock), or none once the site was erased.
    "trust-list": {(200, None), (404, "not-found")},
    # Signed out (the open card is forgotten with the session); a registrar may not read histories.
    "history": {(200, None), (401, "auth"), (409, "no-open-card"), (403, "permission-denied")},
    "sign-in": {(200, None), (403, "csrf")},  # (a tab's reply may carry the session another tab just replaced)
    "open": {(200, None), (401, "auth"), (403, "csrf")},
    "sign-out": {(204, None), (401, "auth"), (403, "csrf")},
    "panic": {(303, None)},
    "health": {(200, None)},
}


class Answers:
    """Every answer seen, by kind of request: (status, error code), or the transport error's name."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, int | str, str | None]] = Counter()
        self._lock = threading.Lock()

    def get(self, kind: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
        try:
            r = call()
        except httpx.TransportError as exc:  # the server died, or dropped the connection
            self._add(kind, type(exc).__name__, None)
            return None
        code = None
        if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
            code = r.json()["error"]["code"]
        self._add(kind, r.status_code, code)
        return r

    def _add(self, kind: str, status: int | str, code: str | None) -> None:
        with self._lock:
            self.seen[(kind, status, code)] += 1

    def unexpected(self) -> dict[tuple[str, int | str, str | None], int]:
        return {k: n for k, n in self.seen.items() if (k[1], k[2]) not in ALLOWED[k[0]]}


@contextmanager
def readers(url: str, staff: httpx.Client, answers: Answers) -> Iterator[threading.Event]:
    """Threads reading the store the whole time: the trust list (public) and the open card's history."""
    stop = threading.Event()

    def anonymous() -> None:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as c:
            while not stop.is_set():
                answers.get("trust-list", lambda: c.get("/api/trust-list"))

    def staff_tab() -> None:
        while not stop.is_set():
            answers.get("history", lambda: staff.get("/api/history"))
            answers.get("trust-list", lambda: staff.get("/api/trust-list"))

    threads = [threading.Thread(target=anonymous) for _ in range(READERS)]
    threads += [threading.Thread(target=staff_tab) for _ in range(STAFF_READERS)]
    for t in threads:
        t.start()
    try:
        yield stop
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)


def staff_sign_in(c: httpx.Client, answers: Answers, account: dict[str, Any], card: str) -> str | None:
    """Sign in (again if a parallel tab got in the way) and open ``card``; the session's CSRF token."""
    for _ in range(5):
        r = answers.get("sign-in", lambda: sign_in(c, account["name"], account["passphrase"]))
        if r is not None and r.status_code == 200:
            break
    else:
        return None
    assert r is not None
    token = str(r.json()["csrf_token"])
    answers.get("open", lambda: c.post("/api/cards/open", json={"card": card}, headers={"X-CSRF-Token": token}))
    return token


def demo_env(**extra: str) -> dict[str, str]:
    """Cheap passphrase keys, and card-open limits that one client opening a card per sign-in stays under."""
    limits = {"HAVEN_WEB_CARD_LIMIT": "100000/300", "HAVEN_WEB_CARD_LIMIT_ADDRESS": "100000/300"}
    return {**os.environ, "HAVEN_KDF_PROFILE": "test", **limits, **extra}


def serve_demo(home: Path, **env: str) -> Any:
    port = free_port()
    command = [str(HAVEN), "serve", "--demo", "--port", str(port), "--home", str(home), "--json"]
    return running(command, env=demo_env(**env))


def assert_alive_and_documented(url: str, answers: Answers) -> None:
    answers.get("health", lambda: httpx.get(url + "api/health", timeout=TIMEOUT))
    assert answers.seen[("health", 200, None)] == 1, "the server is not answering any more"
    assert answers.unexpected() == {}, f"undocumented answers: {answers.unexpected()}"


def test_sign_out_auto_lock_duress_and_panic_with_requests_in_flight(tmp_path: Path) -> None:
    answers = Answers()
    with serve_demo(tmp_path / "demo", HAVEN_WEB_AUTO_LOCK_S="1") as (doc, url):
        clinician = next(a for a in doc["staff"] if a["role"] == "clinician")
        card = " ".join(doc["holders"][0]["words"])
        with httpx.Client(base_url=url, timeout=TIMEOUT) as c, readers(url, c, answers):
            # The last person out locks the server, again and again, while the other tabs read.
            deadline = time.monotonic() + 8
            signed_out = 0
            while time.monotonic() < deadline:
                token = staff_sign_in(c, answers, clinician, card)
                if token is not None:
                    out = {"X-CSRF-Token": token}
                    r = answers.get("sign-out", lambda out=out: c.delete("/api/session", headers=out))
                    signed_out += r is not None and r.status_code == 204
            # Auto-lock: no staff request for a second, then one (the verifiers keep reading the store).
            for _ in range(3):
                if staff_sign_in(c, answers, clinician, card) is not None:
                    time.sleep(1.2)
                    answers.get("history", lambda: c.get("/api/history"))
            # Duress: the site is erased and rebuilt under the readers.
            r = answers.get("sign-in", lambda: sign_in(c, clinician["name"], doc["duress"]["passphrase"]))
            assert r is not None and r.status_code == 200
            token = r.json()["csrf_token"]
            time.sleep(0.5)
            # The emergency erase, pressed while the other tabs read.
            erase = {"csrf_token": token, "confirm": "erase"}
            answers.get("panic", lambda: c.post("/panic", data=erase, follow_redirects=False))
            time.sleep(0.5)
        assert_alive_and_documented(url, answers)
    assert signed_out >= 3
    assert answers.seen[("trust-list", 200, None)] > 0 and answers.seen[("trust-list", 404, "not-found")] > 0
    assert answers.seen[("history", 200, None)] > 0


def test_a_removed_member_and_an_erase_from_a_terminal_with_requests_in_flight(tmp_path: Path) -> None:
    answers = Answers()
    home = tmp_path / "demo"
    with serve_demo(home) as (doc, url):
        staff = {a["role"]: a for a in doc["staff"]}
        card = " ".join(doc["holders"][0]["words"])
        cli = demo_env(HAVEN_HOME=str(home), HAVEN_PASSPHRASE=staff["coordinator"]["passphrase"])
        with httpx.Client(base_url=url, timeout=TIMEOUT) as c, readers(url, c, answers):
            # The only signed-in member is removed from a terminal: their session ends, the server locks.
            assert staff_sign_in(c, answers, staff["clinician"], card) is not None
            time.sleep(0.3)
            removed = subprocess.run([str(HAVEN), "staff", "remove", staff["clinician"]["name"]], env=cli)
            assert removed.returncode == 0
            time.sleep(0.5)
            # `haven panic` in a terminal while a member reads: the server locks at the next request.
            assert staff_sign_in(c, answers, staff["registrar"], card) is not None
            time.sleep(0.3)
            assert subprocess.run([str(HAVEN), "panic", "--yes"], env=cli).returncode == 0
            time.sleep(0.5)
        assert_alive_and_documented(url, answers)
    assert answers.seen[("trust-list", 200, None)] > 0 and answers.seen[("trust-list", 404, "not-found")] > 0
