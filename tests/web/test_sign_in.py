"""The web sign-in: no remote wipe, no lock-out of the keyboard, no oracle; sessions end with the account.

Each test runs the real app over a real site (key slots, SQLCipher, cheap test keys).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.core.card import Card
from haven.site.site import Site
from haven.web import WebSettings, WebSite, create_app
from haven.web.settings import Limit
from tests.helpers_clock import NOW, MonotonicClock
from tests.helpers_site import FakeSleep
from tests.web.conftest import PASSPHRASES, make_keys, serve, sign_in

HAVEN = Path(sys.executable).parent / "haven"
VISIT = [{"type": "vaccination", "product": "td", "dose": 1, "date": "2026-11-01"}]


@pytest.fixture
def locked(tmp_path: Path, clock: MonotonicClock) -> WebSite:
    """A server's site as `haven serve` starts it: locked, holding no key."""
    return WebSite(keys=make_keys(tmp_path / "site"), now=lambda: NOW, clock=clock)


def client_of(app: FastAPI, address: str = "127.0.0.1") -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", client=(address, 50000))


def attempt(c: TestClient, name: str, passphrase: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    token = c.get("/api/session").json()["csrf_token"]
    r = c.post(
        "/api/session",
        json={"name": name, "passphrase": passphrase},
        headers={"X-CSRF-Token": token, **(headers or {})},
    )
    return r.status_code, r.json()["error"]["code"] if r.status_code != 200 else "ok"


def state_files(home: Path) -> dict[str, tuple[bytes, int]]:
    return {name: ((home / name).read_bytes(), (home / name).stat().st_mtime_ns) for name in ("attempts", "keyslots")}


# ---------------------------------------------------------------- 8.4: no wipe, no lock-out


def test_web_sign_ins_never_erase_the_site_nor_make_the_keyboard_wait(locked: WebSite) -> None:
    """With erase-after 3, a dozen wrong web sign-ins erase nothing and leave the attempts file untouched:
    the right passphrase still opens the site, over the web and at the keyboard, without any wait."""
    keys = locked.keys
    with keys.unlock(PASSPHRASES["coordinator"]) as session:
        session.set_erase_after(3)
    home = keys.folder.home
    before = state_files(home)
    app = create_app(WebSettings(sign_in_limit=Limit(100, 900)), locked)
    stranger = client_of(app, "192.0.2.7")
    for _ in range(12):
        assert attempt(stranger, "coordinator", "wrong guess at the sign-in page") == (401, "auth")
    assert state_files(home) == before and keys.failures() == 0
    assert attempt(client_of(app), "clinician", PASSPHRASES["clinician"]) == (200, "ok")
    locked.lock()
    sleep = FakeSleep()
    keyboard = Site(keys.folder, keys.settings, sleep=sleep, settle=0.0)
    keyboard.unlock(PASSPHRASES["registrar"]).close()
    assert sleep.waits == []


def test_web_sign_ins_are_limited_per_address_and_in_all(locked: WebSite, clock: MonotonicClock) -> None:
    """In memory: each address (an IPv6 /64 as one) may fail 10 sign-ins in 15 minutes, every address
    together 100; a success is not counted; the window slides."""
    app = create_app(WebSettings(sign_in_limit_global=Limit(25, 900)), locked)
    c = client_of(app, "192.0.2.1")
    for _ in range(9):
        assert attempt(c, "clinician", "wrong") == (401, "auth")
    assert attempt(c, "clinician", PASSPHRASES["clinician"]) == (200, "ok")  # not counted
    assert attempt(c, "clinician", "wrong") == (401, "auth")
    assert attempt(c, "clinician", "wrong") == (429, "rate-limited")
    assert attempt(c, "clinician", PASSPHRASES["clinician"]) == (429, "rate-limited")
    assert attempt(client_of(app, "192.0.2.2"), "clinician", "wrong") == (401, "auth")  # another address
    # Addresses of one IPv6 /64 share a count.
    for n in range(10):
        assert attempt(client_of(app, f"2001:db8:0:1::{n + 1:x}"), "registrar", "wrong") == (401, "auth")
    assert attempt(client_of(app, "2001:db8:0:1::ff"), "registrar", "wrong") == (429, "rate-limited")
    # 21 failures so far: every address together may fail 25.
    for n in range(4):
        assert attempt(client_of(app, f"198.51.100.{n}"), "registrar", "wrong") == (401, "auth")
    status, code = attempt(client_of(app, "198.51.100.99"), "registrar", PASSPHRASES["registrar"])
    assert (status, code) == (429, "rate-limited")
    clock.now += 901
    assert attempt(c, "clinician", PASSPHRASES["clinician"]) == (200, "ok")


def test_a_burst_of_sign_ins_cannot_run_past_the_limit(locked: WebSite) -> None:
    """Thirty wrong sign-ins sent at once from one address, to a real server: the limit is checked again
    when each passphrase check starts, so at most one more than the limit is tried (two run at once)."""
    import asyncio

    import httpx

    app = create_app(WebSettings(sign_in_limit=Limit(5, 900)), locked)

    async def burst(url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            token = (await c.get("/api/session")).json()["csrf_token"]
            body = {"name": "clinician", "passphrase": "wrong"}
            answers = await asyncio.gather(
                *(c.post("/api/session", json=body, headers={"X-CSRF-Token": token}) for _ in range(30))
            )
        return [r.status_code for r in answers]

    for url in serve(app):
        statuses = asyncio.run(burst(url))
    assert 5 <= statuses.count(401) <= 6 and statuses.count(429) == 30 - statuses.count(401)


def test_forwarded_headers_count_only_from_a_configured_proxy(locked: WebSite) -> None:
    """X-Forwarded-For names the client only when the peer is a configured proxy; from anyone else it
    is ignored, so rotating it does not dodge the per-address limit."""
    app = create_app(WebSettings(sign_in_limit=Limit(3, 900)), locked)
    c = client_of(app)
    seen = [attempt(c, "clinician", "wrong", {"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)]
    assert seen == [(401, "auth")] * 3 + [(429, "rate-limited")]

    proxied = create_app(WebSettings(sign_in_limit=Limit(3, 900), trusted_proxies=("10.0.0.5",)), locked)
    proxy = client_of(proxied, "10.0.0.5")
    seen = [attempt(proxy, "clinician", "wrong", {"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)]
    assert seen == [(401, "auth")] * 4  # four clients behind the proxy
    seen = [attempt(proxy, "clinician", "wrong", {"X-Forwarded-For": "203.0.113.9"}) for _ in range(4)]
    assert seen == [(401, "auth")] * 3 + [(429, "rate-limited")]  # one client behind it
    # Through the proxy, https is seen and the cookie is Secure.
    token = proxy.get("/api/session").json()["csrf_token"]
    r = proxy.post(
        "/api/session",
        json={"name": "registrar", "passphrase": PASSPHRASES["registrar"]},
        headers={"X-CSRF-Token": token, "X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]


def test_a_trusted_proxy_must_be_an_address() -> None:
    from haven.errors import InputError

    with pytest.raises(InputError, match="IP address or network"):
        WebSettings(trusted_proxies=("*",))
    assert WebSettings.from_env({"HAVEN_WEB_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"}).trusted_proxies == (
        "10.0.0.5",
        "10.1.0.0/16",
    )


def test_other_host_names_are_refused_with_400(site: WebSite) -> None:
    """DNS rebinding: a request for a host name the server does not answer to is refused, with one clear
    line; IP addresses are answered when the server binds to every address, names only when allowed."""

    def status(app: FastAPI, host: str, path: str = "/api/health") -> int:
        return TestClient(app, base_url="http://127.0.0.1").get(path, headers={"Host": host}).status_code

    local = create_app(WebSettings(), site)
    assert [status(local, h) for h in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000")] == [200] * 3
    assert [status(local, h) for h in ("evil.example:8000", "192.168.1.10:8000", "")] == [400] * 3
    r = TestClient(local, base_url="http://127.0.0.1").get("/api/session", headers={"Host": "evil.example"})
    assert r.json()["error"]["code"] == "refused" and r.json()["error"]["details"] == {"reason": "host"}
    assert "set-cookie" not in r.headers and r.headers["cache-control"] == "no-store"
    page = TestClient(local, base_url="http://127.0.0.1").get("/sign-in", headers={"Host": "evil.example"})
    assert page.status_code == 400 and "--allowed-host" in page.text and page.text.count("\n") == 1

    lan = create_app(WebSettings(host="0.0.0.0", allowed_hosts=("Clinic.LAN",)), site)
    assert [status(lan, h) for h in ("192.168.1.10:8000", "clinic.lan:8000", "localhost")] == [200] * 3
    assert [status(lan, h) for h in ("evil.example", "clinic.lan.evil.example")] == [400] * 2
    assert status(lan, "evil.example", "/verify") == 400


# ---------------------------------------------------------------- 8.5: removed staff are out at once


def cli(home: Path, passphrase: str, *args: str) -> None:
    env = {**os.environ, "HAVEN_HOME": str(home), "HAVEN_PASSPHRASE": passphrase, "HAVEN_KDF_PROFILE": "test"}
    result = subprocess.run([str(HAVEN), *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_removing_or_resetting_staff_from_a_terminal_ends_their_web_sessions(locked: WebSite, tmp_path: Path) -> None:
    """`haven staff remove` and a coordinator's `haven staff passwd NAME`, run in another process while the
    server runs, end that person's web session at its next request; everyone else carries on."""
    app = create_app(WebSettings(), locked)
    clinician, registrar, ana = client_of(app), client_of(app), client_of(app)
    h = {"X-CSRF-Token": sign_in(clinician, "clinician")}
    card = Card(bytes(range(16)))
    locked.clinic().add_visit(card, VISIT, first_visit=True)
    assert clinician.post("/api/cards/open", json={"card": card.code}, headers=h).status_code == 200
    assert clinician.get("/api/history").status_code == 200
    hr = {"X-CSRF-Token": sign_in(registrar, "registrar")}
    sign_in(ana, "ana")

    home = locked.keys.folder.home
    cli(home, PASSPHRASES["coordinator"], "staff", "remove", "clinician")
    assert clinician.get("/api/history").status_code == 401
    assert clinician.post("/api/certificates", json={"entries": ["0.0"], "count": 1}, headers=h).status_code == 401
    assert clinician.get("/api/session").json()["signed_in"] is False
    assert clinician.get("/card", follow_redirects=False).headers["location"] == "/sign-in"

    new_passphrase = tmp_path / "new"
    new_passphrase.write_text("velvet orchard comet ladder frozen\n")
    cli(home, PASSPHRASES["coordinator"], "staff", "passwd", "registrar", "--new-passphrase-file", str(new_passphrase))
    assert registrar.get("/api/session").json()["signed_in"] is False
    assert registrar.post("/api/cards/open", json={"card": card.code}, headers=hr).status_code == 401
    # Others carry on, and the server stays open for them.
    assert ana.get("/api/session").json()["signed_in"] is True
    assert ana.get("/").status_code == 200 and not locked.locked


def test_the_last_session_ended_by_a_removal_locks_the_server(locked: WebSite) -> None:
    app = create_app(WebSettings(), locked)
    c = client_of(app)
    sign_in(c, "registrar")
    with Site(locked.keys.folder, locked.keys.settings).unlock(PASSPHRASES["coordinator"]) as coordinator:
        coordinator.remove_staff("registrar")
    assert c.get("/api/cards/open").status_code == 401
    assert locked.locked


# ---------------------------------------------------------------- 8.8: a failed sign-in leaves no trace


def test_a_right_passphrase_under_another_name_leaves_the_server_as_it_was(locked: WebSite) -> None:
    """Answered exactly like a wrong passphrase, and the server stays as it was: locked (no trust list
    read from the store it opened for a moment), or open with the same store and every session still signed in."""
    app = create_app(WebSettings(), locked)

    def answer(name: str, passphrase: str) -> tuple[int, object, str | None]:
        c = client_of(app)
        token = c.get("/api/session").json()["csrf_token"]
        r = c.post("/api/session", json={"name": name, "passphrase": passphrase}, headers={"X-CSRF-Token": token})
        return r.status_code, r.json(), r.headers.get("set-cookie")

    def files() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in locked.keys.folder.home.iterdir()}

    probe = client_of(app)
    trust_locked = probe.get("/api/trust-list")
    before = files()
    wrong = answer("registrar", "not anybody's passphrase")
    misnamed = answer("registrar", PASSPHRASES["clinician"])
    assert wrong == misnamed and wrong[0] == 401
    assert locked.locked and files() == before
    after = probe.get("/api/trust-list")
    assert (after.status_code, after.json()) == (trust_locked.status_code, trust_locked.json())
    assert after.status_code == 404 and after.json()["error"]["code"] == "not-found"

    staff = client_of(app)
    sign_in(staff, "registrar")
    store, generation = locked.store, locked.generation
    assert answer("coordinator", PASSPHRASES["clinician"]) == wrong
    assert locked.store is store and locked.generation == generation
    assert staff.get("/api/session").json()["signed_in"] is True
