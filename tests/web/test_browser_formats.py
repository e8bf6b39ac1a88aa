"""The verifier page on EU DCCs and SMART Health Cards, in Debian's Chromium: the same verdicts as Python.

Every shared vector goes through the page's own modules (formats.js, with the foreign issuers it would be
given, signed) and through ``haven.certs.verify``; then the page itself, offline at 360 px, checks one
certificate of each format and refuses a tampered one of each with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven.cert_services import Certificates
from haven.core.card import Card
from haven.web.certificates import certifiable, issue
from tests.certkit import EU_DCC, SHC_JWKS
from tests.web.conftest import LiveServer, live_server, screenshot_dir, unlocked
from tests.web.foreign_cases import NETWORK_TRUST_LIST, cases, read, shc_trust
from tests.certkit import SHC

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
STRINGS = json.loads(
    (Path(__file__).resolve().parents[2] / "haven" / "web" / "static" / "verifier" / "strings.json").read_text("utf-8")
)
AGREE = """async ([version, cases, trustHex]) => {
  const load = (name) => import("/static/verifier/" + name + "?v=" + version);
  const [haven, formats, foreign] = await Promise.all(["verify.js", "formats.js", "foreign-trust.js"].map(load));
  const bytes = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
  const list = await haven.parseTrustList(bytes(trustHex), null);
  const documents = new Map();
  const verdicts = [];
  for (const c of cases) {
    if (!documents.has(c.foreign)) documents.set(c.foreign, await foreign.parseForeignTrust(bytes(c.foreign), list));
    const r = await formats.verifyAny(c.text, list, documents.get(c.foreign), new Date(c.at));
    verdicts.push(r.valid ? "valid" : r.reason);
  }
  return verdicts;
}"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from live_server(tmp_path_factory.mktemp("formats"))


def test_browser_and_python_agree_on_every_eu_dcc_and_smart_health_card_vector(browser: Any, live: LiveServer) -> None:
    all_cases = [c.to_doc() for c in cases()]
    page = browser.new_page(base_url=live.url)
    page.goto("/verify")
    page.wait_for_selector("body[data-ready=true]")
    version = page.evaluate("document.documentElement.dataset.v")
    verdicts = page.evaluate(AGREE, [version, all_cases, NETWORK_TRUST_LIST])
    differ = [(c["name"], c["expect"], v) for c, v in zip(all_cases, verdicts, strict=True) if c["expect"] != v]
    assert not differ, differ
    assert len(all_cases) > 800 and {c["expect"] for c in all_cases} == {
        "valid",
        "malformed",
        "forged",
        "unknown-issuer",
        "revoked",
        "expired",
        "not-yet-valid",
    }
    page.close()
