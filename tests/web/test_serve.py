"""``haven serve --demo``: a real server process, its URL and demo sign-in, then a clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from haven.web.settings import Limit, WebSettings
from tests.conftest import Result
from tests.web.conftest import free_port

pytestmark = pytest.mark.slow


def test_serve_demo_prints_the_sign_in_and_serves(tmp_path: Path) -> None:
    port = free_port()
    haven = Path(sys.executable).parent / "haven"
    with subprocess.Popen(
        [str(haven), "serve", "--demo", "--port", str(port), "--home", str(tmp_path / "demo"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            check_demo(proc, port, tmp_path)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(15)
    assert proc.returncode == 0


def check_demo(proc: subprocess.Popen[str], port: int, tmp_path: Path) -> None:
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.rstrip() == "}":
            break
    doc = json.loads("".join(lines))
    assert doc["url"] == f"http://127.0.0.1:{port}/"
    assert {a["role"] for a in doc["staff"]} == {"registrar", "clinician", "coordinator"}
    assert all(len(a["passphrase"].split()) == 5 for a in doc["staff"])
    assert len(doc["holders"]) == 3
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(doc["url"] + "api/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.1)
    with httpx.Client(base_url=doc["url"]) as c:
        token = c.get("/api/session").json()["csrf_token"]
        clinician = next(a for a in doc["staff"] if a["role"] == "clinician")
        r = c.post(
            "/api/session",
            json={"name": clinician["name"], "passphrase": clinician["passphrase"]},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 200
        token = r.json()["csrf_token"]
        holder = doc["holders"][0]
        r = c.post("/api/cards/open", json={"card": " ".join(holder["words"])}, headers={"X-CSRF-Token": token})
        assert r.json()["has_records"] is True
        assert len(c.get("/api/history").json()["visits"]) == 2
    assert (tmp_path / "demo" / "site.db").exists()


def test_serve_without_demo_explains_what_is_missing(run_cli: Callable[..., Result]) -> None:
    assert run_cli("init", "--admin", "amal").code == 0
    result = run_cli("serve", "--port", "1")
    assert result.code == 6
    assert "haven serve --demo" in result.err


def test_settings_from_the_environment() -> None:
    s = WebSettings.from_env(
        {"HAVEN_WEB_CARD_LIMIT": "5/60", "HAVEN_WEB_SECURE_COOKIES": "yes", "HAVEN_WEB_HOST": "0.0.0.0"}, port=9000
    )
    assert (s.card_limit, s.secure_cookies, s.host, s.port) == (Limit(5, 60), True, "0.0.0.0", 9000)
    assert WebSettings.from_env({"HAVEN_WEB_SECURE_COOKIES": "auto"}).secure_cookies is None
    from haven.errors import InputError

    with pytest.raises(InputError, match="HAVEN_WEB_PORT"):
        WebSettings.from_env({"HAVEN_WEB_PORT": "eighty"})
    with pytest.raises(InputError, match="COUNT/SECONDS"):
        WebSettings.from_env({"HAVEN_WEB_PIN_LIMIT": "5"})
