"""Web fixtures: an app over a real site (key slots, SQLCipher, cheap test Argon2id) with one staff
account per role, a test client, a live server on a free loopback port, and Debian's Chromium
driven by Playwright."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from haven.site.config import SecuritySettings
from haven.site.folder import SiteFolder
from haven.site.kdf import TEST_PARAMS, Calibration
from haven.site.roles import Role
from haven.site.site import Site
from haven.web import WebSettings, WebSite, create_app
from tests.helpers_clock import NOW, TODAY, MonotonicClock, seeded

# Five random BIP39 words each: strong enough for the site's passphrase check.
PASSPHRASES = {
    "registrar": "amber canyon pillow rocket tunnel",
    "clinician": "copper lantern meadow violet anchor",
    "coordinator": "lemon harbor silent orbit walnut",
    "ana": "census unable gallery jump essay happy",  # registrar and clinician at once
}
DURESS = {"clinician": "crane found canal crucial divide visa"}
ROLES = {
    "registrar": Role.REGISTRAR,
    "clinician": Role.CLINICIAN,
    "coordinator": Role.COORDINATOR,
    "ana": Role.REGISTRAR | Role.CLINICIAN,
}
CHEAP = Calibration(TEST_PARAMS, 0.0)
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VERIFIER_STRINGS = json.loads((ROOT / "haven" / "web" / "static" / "verifier" / "strings.json").read_text("utf-8"))
CHROMIUM = os.environ.get("HAVEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_keys(home: Path, now: Callable[[], dt.datetime] = lambda: NOW) -> Site:
    """A real site (key slots, SQLCipher) with cheap test keys: coordinator, registrar, clinician (with a
    duress passphrase) and ana (registrar and clinician), and standalone issuing for certificates."""
    keys = Site(SiteFolder(home), SecuritySettings(kdf_profile="test"), now=now, settle=0.0)
    with keys.create("coordinator", PASSPHRASES["coordinator"], roles=Role.COORDINATOR, calibration=CHEAP) as session:
        for name in ("registrar", "clinician", "ana"):
            session.add_staff(name, ROLES[name], PASSPHRASES[name], DURESS.get(name))
        session.certificates().standalone()
    return keys


def unlocked(site: WebSite) -> WebSite:
    """Open the site's store, as the first staff sign-in does (tests then write through site.clinic())."""
    site.sign_in("coordinator", PASSPHRASES["coordinator"])
    return site


@pytest.fixture
def clock() -> MonotonicClock:
    return MonotonicClock()


@pytest.fixture
def keys(tmp_path: Path) -> Site:
    return make_keys(tmp_path / "site")


@pytest.fixture
def site(keys: Site, clock: MonotonicClock) -> Iterator[WebSite]:
    """The web's site, unlocked (as after a first sign-in)."""
    web = WebSite(keys=keys, today=lambda: TODAY, now=lambda: NOW, clock=clock, random_bytes=seeded(7))
    yield unlocked(web)
    web.lock()


@pytest.fixture
def settings() -> WebSettings:
    return WebSettings()


@pytest.fixture
def app(settings: WebSettings, site: WebSite) -> FastAPI:
    return create_app(settings, site)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, role: str) -> str:
    """Sign ``client`` in as the staff member with ``role``; returns the session's CSRF token."""
    token = client.get("/api/session").json()["csrf_token"]
    r = client.post(
        "/api/session", json={"name": role, "passphrase": PASSPHRASES[role]}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


@pytest.fixture
def signed_in(client: TestClient) -> Callable[[str], str]:
    return lambda role: sign_in(client, role)


# ---------------------------------------------------------------- a live server and a browser


@dataclass
class LiveServer:
    url: str
    site: WebSite
    app: FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: FastAPI) -> Iterator[str]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, proxy_headers=False
    )  # as `haven serve` runs it: proxy headers are the app's to believe
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def live_server(home: Path) -> Iterator[LiveServer]:
    """A server on a free loopback port over its own real site, on the real clock (the browser's
    verifier checks certificates against the device's clock), locked until someone signs in."""
    site = WebSite(keys=make_keys(home, now=lambda: dt.datetime.now(dt.UTC)))
    app = create_app(WebSettings(), site)
    for url in serve(app):
        yield LiveServer(url, site, app)
    site.lock()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server shared by a module's browser tests."""
    yield from live_server(tmp_path_factory.mktemp("live"))


def ensure_chromium() -> str:
    """Debian's Chromium: installed with apt when missing (as root), else a clear failure."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-noto-cjk"],
            check=True,
            env=env,
        )
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is needed for the browser tests and is not at {CHROMIUM}. "
            "Install it with 'apt-get install chromium' (scripts/run.sh test does), or set HAVEN_CHROMIUM."
        )
    return CHROMIUM


def launch(playwright: Any, extra_args: list[str] | None = None) -> Any:
    return playwright.chromium.launch(executable_path=ensure_chromium(), args=[*CHROMIUM_ARGS, *(extra_args or [])])


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    b = launch(playwright_instance)
    yield b
    # No b.close(): a graceful close waits for Chromium with no time limit, and was seen to hang at the
    # end of a run. Stopping Playwright (the fixture above) ends the browser with a bounded wait.


class RequestLog:
    """Every request a browser context makes, to check none leaves the server's origin."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def record(self, request: Any) -> None:
        self.urls.append(request.url)

    def foreign(self, origin: str) -> list[str]:
        return [u for u in self.urls if not (u.startswith(origin + "/") or u == origin)]


def screenshot_dir() -> Path:
    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
