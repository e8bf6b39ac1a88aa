"""``haven serve``: a real server process over a real site, locked until a staff sign-in; README's first command."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from haven.web.settings import Limit, WebSettings
from tests.conftest import ADMIN_PASSPHRASE, Result
from tests.web.conftest import ROOT, free_port

pytestmark = pytest.mark.slow
HAVEN = Path(sys.executable).parent / "haven"


@contextmanager
def running(
    command: list[str], env: dict[str, str] | None = None, verify: ssl.SSLContext | bool = True
) -> Iterator[tuple[dict[str, Any], str]]:
    """Start ``command`` (which prints its JSON document, then serves), wait until it answers (over https,
    checked with ``verify``), stop it."""
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
        start_new_session=True,  # the whole group is stopped, whatever the script started
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.rstrip() == "}":
                    break
            doc = json.loads("".join(lines))
            wait_for(doc["url"], verify)
            yield doc, doc["url"]
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(20)
    assert proc.returncode == 0


def wait_for(url: str, verify: ssl.SSLContext | bool = True) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "api/health", verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.1)


def sign_in(c: httpx.Client, name: str, passphrase: str) -> httpx.Response:
    token = c.get("/api/session").json()["csrf_token"]
    return c.post("/api/session", json={"name": name, "passphrase": passphrase}, headers={"X-CSRF-Token": token})


def test_serve_demo_makes_a_real_encrypted_site_prints_the_sign_in_and_serves_it_locked(tmp_path: Path) -> None:
    port = free_port()
    home = tmp_path / "demo"
    with running([str(HAVEN), "serve", "--demo", "--port", str(port), "--home", str(home), "--json"]) as (doc, url):
        assert url == f"http://127.0.0.1:{port}/" and doc["locked"] is True
        assert [(a["name"], a["role"]) for a in doc["staff"]] == [
            ("registrar", "registrar"),
            ("clinician", "clinician"),
            ("coordinator", "coordinator"),
        ]
        assert all(len(a["passphrase"].split()) == 5 for a in doc["staff"])
        assert doc["duress"]["name"] == "clinician" and len(doc["duress"]["passphrase"].split()) == 5
        assert len(doc["holders"]) == 3
        with httpx.Client(base_url=url) as c:
            # Locked since it started: the public pages answer; no trust list read yet (none is on disk in the clear).
            assert c.get("/verify").status_code == 200
            assert c.get("/api/trust-list").json()["error"]["code"] == "not-found"
            clinician = next(a for a in doc["staff"] if a["role"] == "clinician")
            r = sign_in(c, clinician["name"], clinician["passphrase"])
            assert r.status_code == 200 and r.json()["staff"] == {"name": "clinician", "roles": ["clinician"]}
            token = r.json()["csrf_token"]
            holder = doc["holders"][0]
            r = c.post("/api/cards/open", json={"card": " ".join(holder["words"])}, headers={"X-CSRF-Token": token})
            assert r.json()["has_records"] is True
            assert len(c.get("/api/history").json()["visits"]) == 2
            assert c.get("/api/trust-list").headers["content-type"] == "application/cbor"
    # A real site: key slots, and a database that is random bytes without a passphrase.
    assert (home / "keyslots").stat().st_size == 12096
    assert not (home / "site.db").read_bytes().startswith(b"SQLite format 3")


def test_serve_without_demo_serves_a_site_made_by_haven_init(
    run_cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("init", "--admin", "Amal").code == 0
    monkeypatch.delenv("HAVEN_PASSPHRASE")  # the server needs none to start
    port = free_port()
    home = tmp_path / "site"
    with running([str(HAVEN), "serve", "--home", str(home), "--port", str(port), "--json"]) as (doc, url):
        assert doc["home"] == str(home) and "staff" not in doc
        with httpx.Client(base_url=url) as c:
            assert c.get("/", follow_redirects=False).headers["location"] == "/sign-in"
            assert sign_in(c, "amal", "not the passphrase").status_code == 401
            r = sign_in(c, "amal", ADMIN_PASSPHRASE)
            assert r.status_code == 200
            assert r.json()["staff"] == {"name": "Amal", "roles": ["registrar", "clinician", "coordinator"]}


def test_serve_believes_forwarded_headers_only_from_a_configured_proxy(
    run_cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real `haven serve`: an X-Forwarded-For from 127.0.0.1 is not believed unless --trusted-proxy
    names it, so rotating the header does not dodge the per-address sign-in limit; a foreign Host
    header is refused with 400."""
    assert run_cli("init", "--admin", "Amal").code == 0
    monkeypatch.delenv("HAVEN_PASSPHRASE")
    monkeypatch.setenv("HAVEN_WEB_SIGN_IN_LIMIT", "3/900")
    home = tmp_path / "site"

    def rotating(url: str) -> list[tuple[int, str]]:
        seen = []
        with httpx.Client(base_url=url) as c:
            for n in range(4):
                token = c.get("/api/session").json()["csrf_token"]
                headers = {"X-CSRF-Token": token, "X-Forwarded-For": f"203.0.113.{n}"}
                r = c.post("/api/session", json={"name": "amal", "passphrase": "wrong"}, headers=headers)
                seen.append((r.status_code, r.json()["error"]["code"]))
        return seen

    port = free_port()
    with running([str(HAVEN), "serve", "--home", str(home), "--port", str(port), "--json"]) as (_, url):
        assert rotating(url) == [(401, "auth")] * 3 + [(429, "rate-limited")]
        r = httpx.get(url + "api/health", headers={"Host": "evil.example"})
        assert r.status_code == 400 and r.json()["error"]["details"] == {"reason": "host"}
    port = free_port()
    command = [str(HAVEN), "serve", "--home", str(home), "--port", str(port), "--trusted-proxy", "127.0.0.1", "--json"]
    with running(command) as (_, url):
        assert rotating(url) == [(401, "auth")] * 4  # four clients behind the proxy


def test_serve_without_a_site_says_so(run_cli: Callable[..., Result]) -> None:
    result = run_cli("serve", "--port", "1")
    assert result.code == 6
    assert "haven init" in result.err


def test_readmes_first_command_starts_a_demo_clinic_that_answers() -> None:
    """`bash scripts/run.sh demo` (README's first command): set up, then a demo clinic on a free port."""
    if not list((ROOT / ".venv").glob(".haven-installed*")):
        pytest.skip("the checkout's .venv was not made by scripts/run.sh (which runs this test)")
    readme = (ROOT / "README.md").read_text("utf-8")
    assert readme.split("```sh\n", 1)[1].startswith("bash scripts/run.sh demo ")
    port = free_port()
    env = {**os.environ, "HAVEN_WEB_PORT": str(port)}
    with running(["bash", "scripts/run.sh", "demo", "--json"], env=env) as (doc, url):
        assert url == f"http://127.0.0.1:{port}/"
        with httpx.Client(base_url=url) as c:
            coordinator = next(a for a in doc["staff"] if a["role"] == "coordinator")
            assert sign_in(c, coordinator["name"], coordinator["passphrase"]).status_code == 200
            assert c.get("/counts").status_code == 200


def test_settings_from_the_environment() -> None:
    s = WebSettings.from_env(
        {"HAVEN_WEB_CARD_LIMIT": "5/60", "HAVEN_WEB_SECURE_COOKIES": "yes", "HAVEN_WEB_HOST": "0.0.0.0"}, port=9000
    )
    assert (s.card_limit, s.secure_cookies, s.host, s.port) == (Limit(5, 60), True, "0.0.0.0", 9000)
    assert WebSettings.from_env({"HAVEN_WEB_SECURE_COOKIES": "auto"}).secure_cookies is None
    assert WebSettings.from_env({"HAVEN_WEB_AUTO_LOCK_S": "60"}).auto_lock_s == 60
    from haven.errors import InputError

    with pytest.raises(InputError, match="HAVEN_WEB_PORT"):
        WebSettings.from_env({"HAVEN_WEB_PORT": "eighty"})
    with pytest.raises(InputError, match="COUNT/SECONDS"):
        WebSettings.from_env({"HAVEN_WEB_PIN_LIMIT": "5"})
