"""The verifier page on EU DCCs and SMART Health Cards, in Debian's Chromium: the same verdicts as Python.

Every shared vector goes through the page's own modules (formats.js, with the foreign issuers it would be
given, signed) and through ``haven.certs.verify``; then the page itself, offline at 360 px, checks one
certificate of each format and refuses a tampered one of each with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from haven.app.certificates import certifiable
from haven.cert_services import Certificates
from haven.certs.issuers import load_signers
from haven.cli.issuer_files import read_shc_issuer
from haven.core.card import Card
from haven.web import WebSite
from haven.web.foreign_trust import build, signing_key
from tests.certkit import SHC, SHC_JWKS, THREE_DOSES
from tests.web.conftest import PASSPHRASES, LiveServer, launch, live_server, screenshot_dir, unlocked
from tests.web.conftest import VERIFIER_STRINGS as STRINGS
from tests.web.foreign_cases import (
    NETWORK_TRUST_LIST,
    cases,
    cose_of,
    document,
    hc1,
    make_dsc,
    python_verdict,
    read,
    signed_hc1,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]
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


def signed_now(key: Any, dsc: bytes, hcert: dict[str, Any]) -> str:
    """An EU DCC valid today, signed by ``key`` (the signer certificate ``dsc``)."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    return signed_hc1(key, dsc, {1: "XK", 4: now + 300 * 86400, 6: now - 86400, -260: {1: hcert}})


def forged(text: str, trust: Any) -> str:
    """``text`` with one character of its middle changed (for an EU DCC, one byte inside its zlib) so
    that Python says forged."""
    candidates: Iterator[str]
    if text.startswith("HC1:"):
        raw = cose_of(text)
        candidates = (
            hc1(zlib.compress(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :])) for i in range(len(raw) // 2, len(raw))
        )
    else:
        candidates = (text[:i] + c + text[i + 1 :] for i in range(len(text) // 2, len(text)) for c in "0123456789")
    for candidate in candidates:
        if candidate != text and python_verdict(candidate, trust, dt.datetime.now(dt.UTC)) == "forged":
            return candidate
    raise AssertionError("no forged variant")


def haven_certificate(site: WebSite) -> str:
    """One the site issues, as a clinician signed in (their sign-in also signs the foreign issuers)."""
    clinician = site.sign_in("clinician", PASSPHRASES["clinician"]).staff
    card = Card(bytes(range(16)))
    site.clinic().add_visit(card, THREE_DOSES, first_visit=True)
    choices = certifiable(site.clinic().history(card))
    return site.app(clinician).certificates.issue_sheet(choices, [key for key, _ in choices], 1).texts[0]


def check(page: Any, text: str) -> None:
    if page.is_visible("#again"):
        page.click("#again")
    page.fill("#paste", text)
    page.click("#paste-form button")


def verdict_of(page: Any, text: str) -> dict[str, str]:
    check(page, text)
    page.wait_for_selector("#result:not([hidden])")
    return {
        "reason": page.get_attribute("#result", "data-reason") or "",
        "answer": page.get_attribute("#result", "data-answer") or "",
        "verdict": page.inner_text("#verdict"),
        "why": page.inner_text("#reason"),
    }


def test_offline_at_360px_every_format_is_checked_and_a_tampered_one_of_each_refused(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    site = live.site
    texts = {"haven": haven_certificate(site)}
    key = ec.derive_private_key(0x5EC, ec.SECP256R1())
    dsc = make_dsc(key, days=(-365, 3 * 365))
    certs = Certificates(site.store)
    certs.add_issuer(load_signers(dsc))
    certs.add_issuer(read_shc_issuer(SHC_JWKS))
    trust = certs.trust()
    hcert = {"ver": "1.3.0", "nam": {"fn": "Muster", "gn": "Erika"}, "dob": "1990-01-01"}
    hcert["v"] = [{"tg": "840539006", "mp": "EU/1/20/1528", "dn": 2, "sd": 2, "dt": "2026-05-01"}]
    texts["eu-dcc"] = signed_now(key, dsc, hcert)
    texts["shc"] = read(SHC / "example-00-f-qr-code-numeric-value-0.txt")
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, device_scale_factor=1)
    page = ctx.new_page()
    page.goto("/verify")
    page.wait_for_selector("body[data-ready=true][data-offline-ready=true]:not([data-trust=none])")
    page.wait_for_selector("body:not([data-foreign=none])")
    assert "1 EU DCC signers and 1 SMART Health Card issuers" in page.inner_text("#foreign-state")
    ctx.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]:not([data-trust=none]):not([data-foreign=none])")
    out = screenshot_dir()
    for fmt, text in texts.items():
        got = verdict_of(page, text)
        assert got == {
            "reason": "valid",
            "answer": "trusted",
            "verdict": STRINGS["en"]["valid"],
            "why": STRINGS["en"]["reason-valid"],
        }, fmt
        assert page.get_attribute("#result", "data-format") == fmt
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), fmt
        page.screenshot(path=str(out / f"verify-{fmt}-valid.png"), full_page=True)
        if fmt == "eu-dcc":
            assert page.inner_text("#holder") == STRINGS["en"]["holder"].format(name="Erika Muster", born="1990-01-01")
            sizes = page.evaluate(
                "['#holder', '#verdict'].map((s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize))"
            )
            assert sizes[0] < sizes[1], sizes
            assert "Comirnaty" in page.inner_text("#facts") and "dose 2 of 2" in page.inner_text("#facts")
        tampered = forged(text, trust)
        refused = verdict_of(page, tampered)
        assert refused == {
            "reason": "forged",
            "answer": "bad-signature",
            "verdict": STRINGS["en"]["invalid"],
            "why": STRINGS["en"]["reason-forged"],
        }, fmt
        assert page.is_hidden("#holder")
    # A card in three QR codes, read one by one; and an issuer this site does not trust.
    chunks = [read(p) for p in sorted(SHC.glob("example-02-f-qr-code-numeric-value-*.txt"))]
    for n, chunk in enumerate(chunks[:-1], start=1):
        check(page, chunk)
        page.wait_for_selector("#chunks:not([hidden])")
        assert page.inner_text("#chunks") == STRINGS["en"]["chunks"].format(read=n, total=3)
    check(page, chunks[-1])
    page.wait_for_selector("#result:not([hidden])")
    assert page.get_attribute("#result", "data-reason") == "valid"
    stranger = ec.derive_private_key(0x57, ec.SECP256R1())
    unknown = verdict_of(page, signed_now(stranger, make_dsc(stranger), hcert))
    assert (unknown["reason"], unknown["answer"]) == ("unknown-issuer", "unknown")
    assert unknown["why"] == STRINGS["en"]["reason-unknown-issuer"]
    ctx.close()


FAKE_DETECTOR = """(() => {
  // A BarcodeDetector as phones have one: it "sees" the codes given, one per call that finds something.
  const codes = %s;
  window.detected = 0;
  window.jsQRCalls = 0;
  let real = null;
  Object.defineProperty(window, "jsQR", {
    configurable: true,
    get: () => (real ? (...args) => (window.jsQRCalls++, real(...args)) : undefined),
    set: (value) => { real = value; },
  });
  window.BarcodeDetector = class {
    static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
    constructor(options) { this.formats = options.formats; }
    async detect(source) {
      if (!(source instanceof HTMLVideoElement) || window.detected >= codes.length) return [];
      return [{ rawValue: codes[window.detected++], format: "qr_code" }];
    }
  };
})();"""


def test_the_camera_reads_through_the_browsers_barcode_detector_a_card_of_three_qr_codes(
    playwright_instance: Any, live: LiveServer
) -> None:
    site = unlocked(live.site)
    Certificates(site.store).add_issuer(read_shc_issuer(SHC_JWKS))
    chunks = [read(p) for p in sorted(SHC.glob("example-02-f-qr-code-numeric-value-*.txt"))]
    browser = launch(playwright_instance, ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    try:
        page = browser.new_page(base_url=live.url)
        page.add_init_script(FAKE_DETECTOR % json.dumps([chunks[1], chunks[0], chunks[2]]))
        page.goto("/verify")
        page.wait_for_selector("body[data-ready=true]:not([data-trust=none]):not([data-foreign=none])")
        page.click("#scan-button")
        page.wait_for_selector("#result:not([hidden])")
        assert page.get_attribute("#result", "data-reason") == "valid"
        assert page.get_attribute("#result", "data-format") == "shc"
        assert page.evaluate("[window.detected, window.jsQRCalls]") == [3, 0]
    finally:
        browser.close()


def serving(body: bytes) -> Any:
    return lambda route: route.fulfill(status=200, content_type="application/cbor", body=body)


def test_the_page_takes_foreign_issuers_only_signed_under_its_pinned_list_and_never_older(
    browser: Any, live: LiveServer
) -> None:
    site = live.site
    clinician = site.sign_in("clinician", PASSPHRASES["clinician"]).staff
    Certificates(site.store).add_issuer(read_shc_issuer(SHC_JWKS))
    key = signing_key(site.store, site.as_staff(clinician).keys, dt.datetime.now(dt.UTC))
    assert key is not None
    trust = Certificates(site.store).trust()
    assert trust.haven is not None
    current = int(dt.datetime.now(dt.UTC).timestamp()) // 3600 * 3600
    newer = build(trust, trust.haven.network, key, current + 3600)
    ctx = browser.new_context(base_url=live.url)
    ctx.route("**/verify/foreign-trust", serving(newer))
    page = ctx.new_page()
    page.goto("/verify")
    page.wait_for_selector(f"body[data-ready=true][data-foreign='{current + 3600}']")
    other_network = bytes.fromhex(document(trust))  # signed by the test vectors' key, of another network
    flipped = bytearray(newer)
    flipped[len(flipped) // 2] ^= 1
    older = build(trust, trust.haven.network, key, current)
    for offered, note in (
        (other_network, "foreign-refused"),
        (bytes(flipped), "foreign-refused"),
        (older, "foreign-older"),
    ):
        ctx.unroute("**/verify/foreign-trust")
        ctx.route("**/verify/foreign-trust", serving(offered))
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#trust-note:not([hidden])")
        assert page.inner_text("#trust-note") == STRINGS["en"][note]
        assert page.get_attribute("body", "data-foreign") == str(current + 3600)  # the one it had
    ctx.close()
