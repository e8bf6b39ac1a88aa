"""Benchmark: the offline verifier's first-load weight and its time from decoded QR to verdict.

    .venv/bin/python bench/bench_verifier.py

Runs the app in this process behind a byte-counting ASGI wrapper, so "transferred" is every byte
the server sent (status line and headers estimated as sent, bodies as compressed on the wire) for
one first visit of /verify in a fresh headless Chromium: the page, its assets and everything the
service worker fetches to work offline. Goal (issue 5): <= 150 KB.

The server is a real site (key slots, SQLCipher; cheap test keys, which change nothing here), unlocked
by a staff sign-in, serving its signed trust list; the certificate is one it issued (three COVID-19
doses: 219 characters, a version-10 QR code).

Then the verdict time: that certificate fed through Chromium's fake camera, timed in the page from the
moment jsQR returns the text to the verdict on screen (the page records it in body[data-verdict-ms]):
Base45, CBOR, COSE, the trust list lookup, the ES256 signature through WebCrypto, the claims, and the
DOM update. Goal: <= 100 ms. And verify() alone, called 1,000 times in the page.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from haven import qr  # noqa: E402
from haven.app.certificates import certifiable  # noqa: E402
from haven.core.card import Card  # noqa: E402
from haven.web import WebSettings, WebSite, create_app  # noqa: E402
from tests.web.conftest import CHROMIUM_ARGS, PASSPHRASES, ensure_chromium, free_port, make_keys  # noqa: E402
from tests.web.fakecam import y4m_from_png  # noqa: E402

DOSES = [
    {"type": "vaccination", "product": "comirnaty", "dose": 1, "date": "2025-01-10"},
    {"type": "vaccination", "product": "comirnaty", "dose": 2, "date": "2025-02-07"},
    {"type": "vaccination", "product": "spikevax", "dose": 3, "date": "2025-09-15"},
]


def certificate(site: WebSite) -> str:
    """One certificate the site issues for three COVID-19 doses (signed in as its clinician, who issues)."""
    clinician = site.sign_in("clinician", PASSPHRASES["clinician"]).staff
    card = Card(bytes(range(16)))
    site.clinic().add_visit(card, DOSES, first_visit=True)
    choices = certifiable(site.clinic().history(card))
    return site.app(clinician).certificates.issue_sheet(choices, [key for key, _ in choices], 1).texts[0]


class ByteCounter:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[tuple[str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        total = 0

        async def counting(message: Any) -> None:
            nonlocal total
            if message["type"] == "http.response.start":
                total += 17 + sum(len(k) + len(v) + 4 for k, v in message.get("headers", [])) + 2
            elif message["type"] == "http.response.body":
                total += len(message.get("body", b""))
                if not message.get("more_body"):
                    self.sent.append((scope["path"], total))
            await send(message)

        await self.app(scope, receive, counting)


def main() -> int:
    import datetime as dt

    import uvicorn
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="haven-bench-verifier-"))
    site = WebSite(keys=make_keys(home / "site", now=lambda: dt.datetime.now(dt.UTC)))
    sample = certificate(site)
    app = create_app(WebSettings(), site)
    counter = ByteCounter(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(counter, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        video = y4m_from_png(qr.png(sample), Path(tmp) / "qr.y4m")
        browser = p.chromium.launch(
            executable_path=ensure_chromium(),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        ctx = browser.new_context()
        ctx.grant_permissions(["camera"], origin=base)
        page = ctx.new_page()
        page.goto(base + "/verify")
        page.wait_for_selector("body[data-offline-ready=true]", timeout=20000)
        page.wait_for_selector("body[data-trust]:not([data-trust=none])")
        page.wait_for_timeout(500)  # let the service worker finish its precache
        report["first_load_requests"] = len(counter.sent)
        report["first_load_bytes"] = sum(n for _, n in counter.sent)
        report["first_load_kb"] = round(report["first_load_bytes"] / 1000, 1)
        report["by_path"] = {}
        for path, n in counter.sent:
            report["by_path"][path] = report["by_path"].get(path, 0) + n
        times = []
        for _ in range(10):
            page.click("#scan-button")
            page.wait_for_selector("#result:not([hidden])", timeout=20000)
            assert page.get_attribute("#result", "data-reason") == "valid"
            times.append(float(page.get_attribute("body", "data-verdict-ms") or "nan"))
            page.click("#again")
        report["certificate_characters"] = len(sample)
        report["qr_version"] = qr.version(sample)
        report["decoded_to_verdict_ms"] = {
            "runs": len(times),
            "median": round(statistics.median(times), 2),
            "max": round(max(times), 2),
        }
        version = page.evaluate("document.documentElement.dataset.v")
        only = page.evaluate(
            """async ([url, text]) => {
              const v = await import(url);
              const list = new Uint8Array(await (await fetch("/api/trust-list")).arrayBuffer());
              const trust = await v.parseTrustList(list, null);
              const runs = [];
              for (let i = 0; i < 1000; i++) {
                const t0 = performance.now();
                const r = await v.verify(text, trust, new Date());
                runs.push(performance.now() - t0);
                if (!r.valid) throw new Error(r.reason);
              }
              runs.sort((a, b) => a - b);
              return { runs: runs.length, median: runs[500], p99: runs[990], max: runs[999] };
            }""",
            [f"/static/verifier/verify.js?v={version}", sample],
        )
        report["verify_only_ms"] = {k: round(v, 2) for k, v in only.items()}  # the page's clock: 0.1 ms steps
        browser.close()
    server.should_exit = True
    site.lock()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
