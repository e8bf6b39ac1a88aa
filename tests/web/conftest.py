"""Web fixtures: an app over a temporary SQLite site with one staff account per role,
a test client, a live server on a free loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
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

from haven.store.sqlite import SQLiteStore
from haven.web import MemoryStaffDirectory, Role, Site, WebSettings, create_app
from tests.conftest import TODAY, seeded_bytes

PASSPHRASES = {
    "registrar": "amber canyon pillow rocket tunnel",
    "clinician": "copper lantern meadow violet anchor",
    "coordinator": "lemon harbor silent orbit walnut",
}
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
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


class Clock:
    """A monotonic clock tests can move."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_staff() -> MemoryStaffDirectory:
    staff = MemoryStaffDirectory(fast=True)
    for role, passphrase in PASSPHRASES.items():
        staff.add(role, Role(role), passphrase)
    return staff


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "site.db")
    yield s
    s.close()


@pytest.fixture
def site(store: SQLiteStore, clock: Clock) -> Site:
    return Site(store=store, staff=make_staff(), today=lambda: TODAY, clock=clock, random_bytes=seeded_bytes(7))


@pytest.fixture
def settings() -> WebSettings:
    return WebSettings()


@pytest.fixture
def app(settings: WebSettings, site: Site) -> FastAPI:
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
    site: Site
    app: FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: FastAPI) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server on a free loopback port over its own site (shared by a module's browser tests)."""
    store = SQLiteStore(tmp_path_factory.mktemp("live") / "site.db")
    site = Site(store=store, staff=make_staff(), today=lambda: dt.date.today())
    app = create_app(WebSettings(), site)
    for url in serve(app):
        yield LiveServer(url, site, app)
    store.close()


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
    b.close()


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
