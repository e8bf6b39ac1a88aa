"""The clinic and the verifier in a real browser: Debian's Chromium, driven by Playwright.

Every request each page makes is recorded and must stay on the server's own origin.
Screenshots of every page in Korean and Chinese, 360 px wide, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from haven import qr
from haven.cert_services import Certificates
from haven.certs.verify import verify
from haven.core.card import Card
from haven.core.entries import Vaccination
from haven.web import WebSettings, WebSite, create_app
from tests.web.conftest import (
    ARTIFACTS,
    DURESS,
    PASSPHRASES,
    LiveServer,
    RequestLog,
    launch,
    live_server,
    make_keys,
    screenshot_dir,
    serve,
    unlocked,
)
from tests.web.conftest import (
    VERIFIER_STRINGS as STRINGS,
)
from tests.web.fakecam import y4m_from_png
from tests.web.verifier_cases import cases, trust_list_cases

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture
def context(browser: Any, live: LiveServer) -> Iterator[tuple[Any, RequestLog]]:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 1000, "height": 800})
    ctx.on("request", log.record)
    yield ctx, log
    ctx.close()
    assert not log.foreign(live.url), f"requests to other hosts: {log.foreign(live.url)}"
    assert log.urls, "no request was recorded"


def sign_in(page: Any, name: str, passphrase: str | None = None) -> None:
    page.goto("/sign-in")
    page.fill("#name", name)
    page.fill("#passphrase", passphrase or PASSPHRASES[name])
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def first_visit_form(browser: Any, live: LiveServer, locale: str) -> tuple[Any, Any]:
    """A clinician at 360 px in ``locale`` on a new card's first-visit form; the context and the page."""
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740})
    ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
    page = ctx.new_page()
    sign_in(page, "clinician")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    page.click("#first-visit-link")
    return ctx, page


def camera_browser(playwright: Any, text: str, folder: Path) -> Any:
    """A Chromium whose camera shows the QR code of ``text`` (Chromium's fake capture from a Y4M file)."""
    video = y4m_from_png(qr.png(text), folder / f"qr-{secrets.token_hex(4)}.y4m")
    return launch(
        playwright,
        [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


def tampered(text: str, now: dt.datetime, certs: Certificates) -> tuple[str, str]:
    """The certificate with one character changed, and the reason Python gives for it."""
    for i in range(len(text) // 2, len(text)):
        for c in "0123456789":
            if c != text[i]:
                candidate = text[:i] + c + text[i + 1 :]
                try:
                    verify(candidate, certs.trust(), now)
                except Exception as exc:
                    reason = getattr(exc, "code", "")
                    if reason == "forged":
                        return candidate, reason
    raise AssertionError("no tampered variant found")


def test_clinic_flow_then_the_certificate_verified_offline_through_the_camera(
    context: tuple[Any, RequestLog], live: LiveServer, playwright_instance: Any, tmp_path: Path
) -> None:
    ctx, _ = context
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, "clinician")
    assert page.url.endswith("/") and page.is_visible("#open-words")

    # A new card, printed.
    page.select_option("#language", "en")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    words = page.locator("#card-words li").all_inner_texts()
    assert len(words) == 13
    assert page.locator("svg.qr").count() == 1

    # Its first visit: a vaccination and a test.
    page.click("#first-visit-link")
    page.select_option("#vac_product", "comirnaty")
    page.fill("#vac_dose", "1")
    page.fill("#vac_lot", "FJ8529")
    page.select_option("#test_test", "antigen")
    page.select_option("#test_result", "negative")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    assert "Visit recorded." in page.inner_text("main")

    # Close it; reopen it by typing the words.
    page.goto("/card")
    page.click("#close-card")
    page.wait_for_url(live.url + "/")
    page.fill("#card", " ".join(words))
    page.click("#open-form button[type=submit]")
    page.wait_for_url("**/card")
    assert "This card has records at this site." in page.inner_text("#card-status")

    # History and the next dose.
    page.click("#see-history")
    page.wait_for_url("**/card/history")
    visits = page.inner_text("#visits")
    assert "Comirnaty" in visits and "dose 1" in visits and "Rapid antigen test: Negative" in visits
    due = page.inner_text("#next-doses")
    assert "dose 2" in due and "Primary series" in due

    # A sheet of certificates for the vaccination, printed.
    page.click("#see-certificates")
    page.wait_for_url("**/card/certificates")
    page.check("input[name=entry][value^='0.'][value$='.0']")  # visit 0 (any record tag), entry 0
    page.fill("#count", "3")
    page.click("#issue-sheet")
    page.wait_for_selector("#sheet")
    stubs = page.locator(".stub")
    assert stubs.count() == 3
    texts = [stubs.nth(i).get_attribute("data-code") for i in range(3)]
    assert len(set(texts)) == 3
    assert page.is_visible("#print-sheet")  # shown by the script that makes it work
    page.emulate_media(media="print")
    assert not page.is_visible("#print-sheet") and page.is_visible("#sheet")
    page.pdf(path=str(ARTIFACTS / "certificate-sheet.pdf"), format="A4")
    page.emulate_media(media="screen")
    assert not errors, errors

    # The verifier: loaded once, then offline; a certificate of the sheet through the phone's camera.
    text = texts[0]
    assert text is not None
    camera = camera_browser(playwright_instance, text, tmp_path)
    vlog = RequestLog()
    try:
        vctx = camera.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, locale="en-US")
        vctx.grant_permissions(["camera"], origin=live.url)
        vctx.on("request", vlog.record)
        verifier = vctx.new_page()
        # (Offline, the trust list's fetch fails, and Chromium says so on the console: expected.)
        verifier.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and "INTERNET_DISCONNECTED" not in m.text else None,
        )
        verifier.goto("/verify")
        verifier.wait_for_selector("body[data-offline-ready=true]", timeout=15000)
        verifier.wait_for_selector("body[data-trust]:not([data-trust=none])")
        online = len(vlog.urls)
        vctx.set_offline(True)
        verifier.reload()
        verifier.wait_for_selector("body[data-ready=true]")
        verifier.wait_for_selector("body[data-trust]:not([data-trust=none])")
        verifier.click("#scan-button")
        verifier.wait_for_selector("#result:not([hidden])", timeout=20000)
        assert verifier.text_content("#scanned") == text
        assert verifier.get_attribute("#result", "data-reason") == "valid"
        assert verifier.inner_text("#verdict") == "Valid"
        assert "Comirnaty" in verifier.inner_text("#facts") and "dose 1 of 2" in verifier.inner_text("#facts")
        assert float(verifier.get_attribute("body", "data-verdict-ms") or "inf") < 1000
        verifier.click(".lang-button[data-lang=ko]")
        assert verifier.inner_text("#verdict") == STRINGS["ko"]["valid"]
        # A tampered certificate: invalid, with its reason, in the chosen language.
        now = dt.datetime.now(dt.UTC)
        unlocked(live.site)
        bad, reason = tampered(text, now, Certificates(live.site.store, lambda: now))
        verifier.click("#again")
        verifier.fill("#paste", bad)
        verifier.click("#paste-form button")
        verifier.wait_for_selector(f"#result[data-reason={reason}]")
        assert verifier.inner_text("#verdict") == STRINGS["ko"]["invalid"]
        assert verifier.inner_text("#reason") == STRINGS["ko"]["reason-forged"]
        vctx.close()
    finally:
        camera.close()
    assert not errors, errors
    assert online > 0 and not vlog.foreign(live.url), vlog.foreign(live.url)


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_visit_error_at_once_in_a_summary_that_takes_focus(browser: Any, live: LiveServer, locale: str) -> None:
    ctx, page = first_visit_form(browser, live, locale)
    page.fill("#date", "2099-01-01")  # in the future
    page.fill("#vac_dose", "1")  # a dose without a vaccine
    page.fill("#vac_lot", "FJ8529")
    page.select_option("#test_test", "pcr")  # a test without a result
    page.click("#save-visit")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.get_attribute("#error-summary", "role") == "alert"
    links = page.locator("#error-summary a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["#date", "#vac_product", "#test_result"]
    summary = page.inner_text("#error-summary")
    if locale == "zh_Hans":
        assert "未保存任何内容" in summary and "疫苗：请选择一项" in summary
    else:
        assert "Vaccine: Choose one, or clear the other fields of this section." in summary
    for name in ("date", "vac_product", "test_result"):
        assert page.get_attribute(f"#{name}", "aria-describedby") == f"{name}-error"
        assert page.get_attribute(f"#{name}", "aria-invalid") == "true"
        assert page.is_visible(f"#{name}-error")
    links.nth(1).click()
    assert page.evaluate("document.activeElement.id") == "vac_product"
    assert page.input_value("#vac_dose") == "1" and page.input_value("#vac_lot") == "FJ8529"
    assert no_overflow(page)
    # Corrected, the visit saves with every field that was filled.
    page.fill("#date", live.site.date_today().isoformat())
    page.select_option("#vac_product", "td")
    page.select_option("#test_result", "negative")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    visits = page.inner_text("#visits")
    assert "FJ8529" in visits  # the lot typed before the vaccine was chosen is kept
    ctx.close()


def test_a_visit_typed_while_the_card_closed_is_saved_after_opening_it_again(
    context: tuple[Any, RequestLog], live: LiveServer
) -> None:
    ctx, _ = context
    page = ctx.new_page()
    sign_in(page, "clinician")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    words = page.locator("#card-words li").all_inner_texts()
    page.click("#first-visit-link")
    with page.expect_request(lambda r: r.url.endswith("/api/cards/open")):  # typing keeps the card open
        page.fill("#note_text", "typed before the card closed")
    page.select_option("#vac_product", "td")
    page.fill("#vac_dose", "1")
    page.fill("#vac_lot", "LOT7")
    # The card closes meanwhile (here from another tab, as the idle timeout would).
    other = ctx.new_page()
    other.goto("/card")
    other.click("#close-card")
    other.close()
    page.click("#save-visit")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "The card closed before this visit was saved." in page.inner_text("#error-summary")
    assert page.input_value("#note_text") == "typed before the card closed"
    assert page.input_value("#vac_lot") == "LOT7"
    page.fill("#reopen_card", " ".join(words))
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    visits = page.inner_text("#visits")
    assert "typed before the card closed" in visits and "LOT7" in visits


def test_browser_and_python_verifiers_agree_on_every_vector_and_tampered_variant(
    browser: Any, live: LiveServer
) -> None:
    """Every certificate of tests/vectors/haven-certificates.json, every bit flip of two of them, crafted
    certificates (wrong claims, headers, keys, epochs, revocations) and tampered trust lists, through the
    page's own verify.js in Chromium, against haven.certs.verify."""
    all_cases = [c.to_doc() for c in cases()]
    lists = trust_list_cases()
    page = browser.new_page(base_url=live.url)
    page.goto("/verify")
    page.wait_for_selector("body[data-ready=true]")
    version = page.evaluate("document.documentElement.dataset.v")
    got = page.evaluate(
        """async ([url, cases, lists]) => {
          const v = await import(url);
          const bytes = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
          const parsed = new Map();
          const verdicts = [];
          for (const c of cases) {
            if (!parsed.has(c.trust_list)) parsed.set(c.trust_list, await v.parseTrustList(bytes(c.trust_list), null));
            const r = await v.verify(c.text, parsed.get(c.trust_list), new Date(c.at));
            verdicts.push(r.valid ? "valid" : r.reason);
          }
          const accepted = [];
          for (const [, h] of lists) {
            try { await v.parseTrustList(bytes(h), null); accepted.push(true); }
            catch (e) { if (!(e instanceof v.TrustListError)) throw e; accepted.push(false); }
          }
          return [verdicts, accepted];
        }""",
        [f"/static/verifier/verify.js?v={version}", all_cases, lists],
    )
    verdicts, accepted = got
    differ = [(c["name"], c["expect"], v) for c, v in zip(all_cases, verdicts, strict=True) if c["expect"] != v]
    assert not differ, differ
    assert accepted == [ok for _, _, ok in lists]
    assert len(all_cases) > 600 and {c["expect"] for c in all_cases} == {
        "valid",
        "malformed",
        "forged",
        "unknown-issuer",
        "revoked",
        "expired",
        "not-yet-valid",
    }
    page.close()


def no_overflow(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


# Every word (a run between spaces) that fits in its block's width sits on one line, and no box is wider than
# it shows. Chinese has no spaces: its runs are checked only where they are Latin (names, dates). A scanned
# certificate code (.scanned) is a code, not a word: it may break anywhere.
BROKEN_WORDS = r"""() => {
  // A line may end after a hyphen ("Pfizer-" / "BioNTech"), as in print; never inside a part of a word.
  const breaksOnlyAfterHyphens = (node, start, word) => {
    if (!word.includes("-")) return false;
    let at = start;
    for (const part of word.match(/[^-]*-|[^-]+$/g)) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + part.length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) return false;
      at += part.length;
    }
    return true;
  };
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const owner = node.parentElement;
    const skipped = "svg, script, style, option, .sr-only, .skip-link, .scanned";
    if (!owner || !owner.offsetParent || owner.closest(skipped)) continue;
    let block = owner;
    while (block.parentElement && getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
    const room = block.clientWidth;
    for (const match of node.data.matchAll(/[^\s]+/g)) {
      if (/[\u3000-\u9fff\uff00-\uffef]/.test(match[0]) && !/[\uac00-\ud7af]/.test(match[0])) continue;
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0);
      const width = rects.reduce((sum, r) => sum + r.width, 0);
      const lines = new Set(rects.map((r) => Math.round(r.top)));
      if (lines.size > 1 && width < room && !breaksOnlyAfterHyphens(node, match.index, match[0])) broken.push(match[0]);
    }
  }
  for (const el of document.querySelectorAll("main *, header *")) {
    const style = getComputedStyle(el);
    if (style.overflowWrap === "anywhere") broken.push("overflow-wrap:anywhere on " + el.tagName);
    if (el.offsetParent && style.overflowX === "visible" && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
        && !["INPUT", "SELECT", "TEXTAREA", "svg"].includes(el.tagName) && style.display !== "inline")
      broken.push("wider than its box: " + el.tagName + "." + el.className);
  }
  return broken;
}"""


def broken_words(page: Any) -> list[str]:
    return list(page.evaluate(BROKEN_WORDS))


def test_the_broken_word_check_finds_a_break_inside_a_word_and_allows_one_after_a_hyphen(browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    page = ctx.new_page()
    cell = '<main><p style="width: {w}; overflow-wrap: break-word; font: 16px sans-serif">{text}</p></main>'
    page.set_content(cell.format(w="9ch", text="Comirnaty (Pfizer-BioNTech)"))
    assert broken_words(page) == []  # "(Pfizer-" / "BioNTech)": a line may end after a hyphen
    broken_anywhere = '<main><p style="width: 14ch; word-break: break-all; font: 16px monospace">{text}</p></main>'
    page.set_content(broken_anywhere.format(text="ab cd tozinameran"))  # "ab cd tozina" / "meran": it would fit
    assert broken_words(page) == ["tozinameran"]
    page.set_content(broken_anywhere.format(text="ab cd Pfizer-BioN"))  # "ab cd Pfizer-B" / "ioN"
    assert broken_words(page) == ["Pfizer-BioN"]
    ctx.close()


@pytest.mark.parametrize("locale", ["ko", "zh_Hans"])
def test_every_page_at_360px_in_korean_and_chinese(browser: Any, live: LiveServer, locale: str) -> None:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, device_scale_factor=1)
    ctx.on("request", log.record)
    ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
    out = screenshot_dir()
    for old in out.glob(f"{locale}-*.png"):
        old.unlink()
    page = ctx.new_page()
    shots: list[str] = []

    def shot(name: str) -> None:
        assert page.evaluate("document.documentElement.lang") == {"ko": "ko", "zh_Hans": "zh-Hans"}[locale]
        assert no_overflow(page), f"{name} is wider than 360 px in {locale}"
        assert not broken_words(page), f"{name} breaks words in {locale}: {broken_words(page)}"
        page.screenshot(path=str(out / f"{locale}-{len(shots) + 1:02d}-{name}.png"), full_page=True)
        shots.append(name)

    page.goto("/sign-in")
    shot("sign-in")
    page.fill("#name", "clinician")
    page.fill("#passphrase", "not the passphrase")
    page.click("form[action='/sign-in'] button[type=submit]")
    shot("sign-in-error")
    sign_in(page, "clinician")
    shot("open-a-card")
    page.fill("#card", "abandon ability")
    page.click("#open-form button[type=submit]")
    shot("open-a-card-error")
    page.goto("/")
    page.select_option("#language", "zh" if locale == "zh_Hans" else "ko")
    page.click("#new-card button[type=submit]")
    page.wait_for_url("**/card/print")
    shot("print-card")
    page.click("#first-visit-link")
    shot("visit-form")
    page.select_option("#vac_product", "td")
    page.fill("#vac_dose", "12")
    page.click("#save-visit")
    shot("visit-form-error")
    page.fill("#vac_dose", "1")
    page.select_option("#test_test", "pcr")
    page.select_option("#test_result", "positive")
    page.click("#save-visit")
    page.wait_for_url("**/card/history")
    shot("history")
    page.goto("/card")
    shot("card")
    page.goto("/card/certificates")
    shot("certificates")
    page.check("input[name=entry][value^='0.'][value$='.0']")  # visit 0 (any record tag), entry 0
    page.fill("#count", "2")
    page.click("#issue-sheet")
    page.wait_for_selector("#sheet")
    shot("certificate-sheet")
    certificate = page.locator(".stub").first.get_attribute("data-code")
    page.goto("/panic")
    shot("emergency-erase")
    page.goto("/nowhere")
    shot("not-found")
    page.goto("/card")
    page.click("#close-card")
    page.click("form[action='/sign-out'] button")
    sign_in(page, "coordinator")
    page.wait_for_url("**/counts")
    shot("counts")
    ctx.close()

    # The verifier chooses its language in the browser.
    vctx = browser.new_context(
        base_url=live.url, viewport={"width": 360, "height": 740}, locale="ko-KR" if locale == "ko" else "zh-CN"
    )
    vctx.on("request", log.record)
    page = vctx.new_page()
    page.goto("/verify")
    page.wait_for_selector("body[data-ready=true]")
    shot("verifier")
    page.fill("#paste", certificate or "")
    page.click("#paste-form button")
    page.wait_for_selector("#result[data-reason=valid]")
    shot("verifier-valid")
    page.click("#again")
    page.fill("#paste", "not a certificate")
    page.click("#paste-form button")
    page.wait_for_selector("#result[data-reason=malformed]")
    shot("verifier-invalid")
    vctx.close()
    assert len(shots) == 17
    assert not log.foreign(live.url), log.foreign(live.url)


def test_verifier_keeps_its_pinned_trust_list_offline_and_explains_in_the_chosen_language(
    browser: Any, live: LiveServer
) -> None:
    log = RequestLog()
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, locale="en-US")
    ctx.on("request", log.record)
    page = ctx.new_page()
    page.goto("/verify")
    page.wait_for_selector("body[data-offline-ready=true]", timeout=15000)
    page.wait_for_selector("body[data-trust]:not([data-trust=none])")
    fingerprint = Certificates(unlocked(live.site).store).trust_list()
    assert fingerprint is not None
    assert fingerprint.to_doc()["root_fingerprint"] in page.inner_text("#trust-state")
    ctx.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert "Ready: this page now works without a connection." in page.inner_text("#offline-state")
    assert "list version" in page.inner_text("#trust-state")
    assert "Trusted keys: this site alone," in page.inner_text("#trust-state")  # the lone site's network, in words
    page.fill("#paste", "hello, world")
    page.click("#paste-form button")
    page.wait_for_selector("#result:not([hidden])")
    assert page.inner_text("#verdict") == "Not valid"
    assert page.inner_text("#reason") == STRINGS["en"]["reason-malformed"]
    assert page.get_attribute("#result", "data-reason") == "malformed"
    page.click(".lang-button[data-lang=ko]")
    assert page.inner_text("#verdict") == "유효하지 않음"
    page.click(".lang-button[data-lang=zh]")
    assert page.inner_text("#reason") == "这不是证明的代码，或者代码已损坏。"
    assert page.inner_text("#trust-state").startswith("受信任的密钥：仅本站点，")
    # Well-formed Base45 that is not a certificate is malformed too, never valid.
    page.fill("#paste", "%69 VD92EX0")  # RFC 9285: Base45 of "Hello!!"
    page.click("#paste-form button")
    page.wait_for_selector("#result[data-reason=malformed]")
    assert page.inner_text("#verdict") == "无效"
    # Never a request with what was checked: only the page's own files, the trust list and the foreign issuers.
    own = ("/verify", "/verify/sw.js", ".js", ".css", ".json", ".svg", "/api/trust-list", "/verify/foreign-trust")
    assert all(u.split("?")[0].endswith(own) for u in log.urls), log.urls
    ctx.close()
    assert not log.foreign(live.url), log.foreign(live.url)


def test_camera_opens_a_card_on_the_clinic_page(playwright_instance: Any, live: LiveServer, tmp_path: Path) -> None:
    card = Card.generate(secrets.token_bytes, "en")
    unlocked(live.site).clinic().add_visit(
        card, [{"type": "note", "date": "2026-11-01", "text": "x"}], first_visit=True
    )
    camera = camera_browser(playwright_instance, card.code, tmp_path)
    log = RequestLog()
    try:
        ctx = camera.new_context(base_url=live.url, viewport={"width": 400, "height": 800})
        ctx.grant_permissions(["camera"], origin=live.url)
        ctx.on("request", log.record)
        page = ctx.new_page()
        sign_in(page, "registrar")
        page.click("#open-camera .scanner-start")
        page.wait_for_url("**/card", timeout=20000)
        assert "This card has records at this site." in page.inner_text("#card-status")
        ctx.close()
    finally:
        camera.close()
    assert not log.foreign(live.url), log.foreign(live.url)


def test_duress_then_panic_through_the_browser(browser: Any, tmp_path: Path) -> None:
    """A coerced sign-in leaves an empty-looking clinic and ends every other session; the old passphrase
    opens nothing; then the emergency erase leaves nothing to unlock."""
    for server in live_server(tmp_path / "site"):
        log = RequestLog()
        staff = browser.new_context(base_url=server.url)
        coerced = browser.new_context(base_url=server.url)
        for c in (staff, coerced):
            c.on("request", log.record)
        page = staff.new_page()
        sign_in(page, "registrar")
        page.click("#new-card button[type=submit]")
        page.wait_for_url("**/card/print")
        words = " ".join(page.locator("#card-words li").all_inner_texts())
        page.click("#first-visit-link")
        page.fill("#note_text", "seen")
        page.click("#save-visit")
        page.wait_for_url("**/card")

        forced = coerced.new_page()
        sign_in(forced, "clinician", DURESS["clinician"])
        assert forced.url == server.url + "/" and forced.is_visible("#open-words")
        forced.fill("#card", words)
        forced.click("#open-form button[type=submit]")
        forced.wait_for_url("**/card")
        assert "No records for this card at this site." in forced.inner_text("main")
        page.goto("/card")
        assert page.url == server.url + "/sign-in"  # the other session ended
        sign_in(page, "clinician")
        assert page.inner_text("#sign-in-error")  # the real passphrase opens nothing any more

        forced.click("#panic-link")
        forced.wait_for_url("**/panic")
        forced.click("#panic-confirm")
        forced.wait_for_url("**/sign-in")
        assert server.site.locked
        sign_in(forced, "clinician", DURESS["clinician"])
        assert forced.is_visible("#sign-in-error")
        staff.close()
        coerced.close()
        assert not log.foreign(server.url), log.foreign(server.url)


def test_verifier_pins_the_root_and_refuses_older_or_foreign_trust_lists(browser: Any, live: LiveServer) -> None:
    """The first list's root is pinned; a list of another root, or an older version, is refused with a note
    and the page keeps the list it has; a newer list of the same root is taken."""
    from dataclasses import replace

    from tests.web.verifier_cases import VECTORS

    unlocked(live.site)  # the server serves its trust list while someone is signed in
    with live.site.keys.unlock(PASSPHRASES["coordinator"]) as coordinator:  # only it opens the root key
        certs = coordinator.certificates()
        current, root = certs.trust_list(), certs.root_key()
    assert current is not None and root is not None
    older = replace(current, sequence=current.sequence - 1).sign(root)
    newer = current.next(current.issued_at + 1, revoked_ctis=frozenset({b"\x01" * 12})).sign(root)
    foreign = bytes.fromhex(VECTORS["trust_list"])  # the test vectors' network: another root
    ctx = browser.new_context(base_url=live.url)
    page = ctx.new_page()
    page.goto("/verify")
    page.wait_for_selector(f"body[data-trust='{current.sequence}']")
    assert page.is_hidden("#trust-note")

    def serving(body: bytes) -> Any:
        return lambda route: route.fulfill(body=body, status=200, content_type="application/cbor")

    for offered, note in ((foreign, "trust-refused"), (older, "trust-older")):
        ctx.route("**/api/trust-list", serving(offered))
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#trust-note:not([hidden])")
        assert page.inner_text("#trust-note") == STRINGS["en"][note]
        assert page.get_attribute("body", "data-trust") == str(current.sequence)
        ctx.unroute("**/api/trust-list")
    ctx.route("**/api/trust-list", serving(newer))
    page.reload()
    page.wait_for_selector(f"body[data-trust='{current.sequence + 1}']")
    assert page.is_hidden("#trust-note")
    ctx.close()


def paste_and_check(page: Any, text: str) -> None:
    page.fill("#paste", text)
    page.click("#paste-form button")
    page.wait_for_selector("#result:not([hidden])")


def test_a_fresh_phone_after_a_restart_cannot_check_yet_then_sees_valid_while_the_server_is_locked(
    browser: Any, tmp_path: Path
) -> None:
    """A server restarted (locked, its list not read yet) gives a new phone no list: a genuine
    certificate is "cannot check yet", never "not valid", and the page does not claim to work offline.
    Once someone has signed in and the server has locked again, it serves the list: "valid"."""
    now = dt.datetime.now(dt.UTC)
    keys = make_keys(tmp_path / "site", now=lambda: dt.datetime.now(dt.UTC))
    before = WebSite(keys=keys)  # the server before its restart issues a certificate, then stops
    member = before.sign_in("clinician", PASSPHRASES["clinician"]).staff
    [text] = before.issuer(member).issue_sheet([Vaccination("comirnaty", 1, now.date())], 1, now).texts
    before.lock()
    restarted = WebSite(keys=keys)
    for url in serve(create_app(WebSettings(), restarted)):
        log = RequestLog()
        phone = browser.new_context(base_url=url, viewport={"width": 360, "height": 740}, locale="en-US")
        phone.on("request", log.record)
        page = phone.new_page()
        page.goto("/verify")
        page.wait_for_selector("body[data-ready=true][data-trust=none]")
        page.wait_for_selector("body[data-offline-ready=true]", timeout=15000)
        assert page.inner_text("#offline-state") == STRINGS["en"]["offline-ready-no-list"]
        assert page.inner_text("#trust-state") == STRINGS["en"]["trust-none"]
        paste_and_check(page, text)
        assert page.get_attribute("#result", "data-state") == "unchecked"
        assert page.inner_text("#verdict") == "Cannot check yet" != STRINGS["en"]["invalid"]
        assert page.inner_text("#reason") == STRINGS["en"]["why-no-trust-list"]
        page.click(".lang-button[data-lang=ko]")
        assert page.inner_text("#verdict") == STRINGS["ko"]["cannot-check"]
        page.click(".lang-button[data-lang=zh]")
        assert page.inner_text("#verdict") == "暂时无法核验"
        # Damaged text is still "not valid" without a list.
        paste_and_check(page, "hello, world")
        assert page.get_attribute("#result", "data-state") == "invalid"
        phone.close()

        restarted.sign_in("registrar", PASSPHRASES["registrar"])
        restarted.lock()  # the last sign-out: locked again, holding no key
        assert restarted.locked
        other = browser.new_context(base_url=url, viewport={"width": 360, "height": 740}, locale="en-US")
        other.on("request", log.record)
        page = other.new_page()
        page.goto("/verify")
        page.wait_for_selector("body[data-ready=true]:not([data-trust=none])")
        paste_and_check(page, text)
        assert page.get_attribute("#result", "data-state") == "valid"
        assert page.inner_text("#verdict") == "Valid"
        assert "Comirnaty" in page.inner_text("#facts")
        other.close()
        assert not log.foreign(url), log.foreign(url)


def test_an_old_saved_trust_list_says_its_age_and_that_a_refresh_failed(browser: Any, live: LiveServer) -> None:
    unlocked(live.site)
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740}, locale="en-US")
    page = ctx.new_page()
    page.goto("/verify")
    page.wait_for_selector("body[data-ready=true][data-trust-refresh=ok]:not([data-trust=none])")
    assert page.is_visible("#trust-age") and page.is_hidden("#trust-refresh")
    assert page.inner_text("#trust-age") == STRINGS["en"]["trust-age"].replace("{age}", "this minute")
    # Ten days later, and the server has no list to give (restarted, nobody signed in yet).
    page.evaluate(
        """() => { const saved = JSON.parse(localStorage.getItem("haven-verify-trust"));
                   saved.received = Date.now() - 10 * 86400000;
                   localStorage.setItem("haven-verify-trust", JSON.stringify(saved)); }"""
    )
    missing = json.dumps({"error": {"code": "not-found", "message": "This server has no trust list to give yet."}})
    ctx.route("**/api/trust-list", lambda r: r.fulfill(status=404, content_type="application/json", body=missing))
    page.reload()
    page.wait_for_selector("body[data-ready=true][data-trust-refresh=failed]:not([data-trust=none])")
    age = page.inner_text("#trust-age")
    assert "10 days ago" in age and STRINGS["en"]["trust-stale"] in age
    assert page.get_attribute("#trust-age", "class") == "muted small-text stale"
    assert page.inner_text("#trust-refresh") == STRINGS["en"]["trust-refresh-failed"].replace("{age}", "this minute")
    page.click(".lang-button[data-lang=ko]")
    assert "10일 전" in page.inner_text("#trust-age")
    page.click(".lang-button[data-lang=zh]")
    assert "10天前" in page.inner_text("#trust-age") and page.is_visible("#trust-refresh")
    # The server gives the list again: the age starts over and the failure is gone.
    ctx.unroute("**/api/trust-list")
    page.reload()
    page.wait_for_selector("body[data-ready=true][data-trust-refresh=ok]")
    assert "10天前" not in page.inner_text("#trust-age") and page.is_hidden("#trust-refresh")
    ctx.close()


def contrast(rgb: str, against: tuple[int, int, int] = (255, 255, 255)) -> float:
    """WCAG contrast ratio of a computed ``rgb(r, g, b)`` colour against ``against``."""

    def luminance(channels: tuple[int, ...]) -> float:
        c = [x / 255 for x in channels]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    values = tuple(int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    light, dark = sorted((luminance(values), luminance(against)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_keyboard_skip_link_first_error_focus_and_field_borders_at_360px(
    browser: Any, live: LiveServer, locale: str
) -> None:
    ctx = browser.new_context(base_url=live.url, viewport={"width": 360, "height": 740})
    ctx.add_cookies([{"name": "haven_lang", "value": locale, "url": live.url}])
    page = ctx.new_page()
    sign_in(page, "clinician", "not the passphrase")
    assert page.evaluate("document.activeElement.id") == "passphrase"  # focus on the field to type again
    assert page.get_attribute("#passphrase", "aria-describedby") == "sign-in-error"
    sign_in(page, "clinician")
    # The first Tab reaches a link that skips the header; following it puts focus on the page's content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link no-print"
    assert page.is_visible(".skip-link")
    assert page.inner_text(".skip-link") == {"en": "Skip to the main content", "ko": "본문으로 건너뛰기"}[locale]
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Every field's edge stands out from white by at least 3:1.
    for selector in ("#card", "#pin", "#language", "#new-pin"):
        border = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).borderTopColor")
        assert contrast(border) >= 3, (selector, border)
    # A wrong card: focus lands on the field marked wrong, which names its message.
    page.fill("#card", "abandon ability")
    page.click("#open-form button[type=submit]")
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.id") == "card"
    assert page.get_attribute("#card", "aria-invalid") == "true"
    assert "card-error" in (page.get_attribute("#card", "aria-describedby") or "")
    # Korean wraps between words, and nothing on the page is broken mid-word at 360 px.
    expected = "keep-all" if locale == "ko" else "normal"
    assert page.evaluate("getComputedStyle(document.querySelector('main p')).wordBreak") == expected
    assert not broken_words(page), broken_words(page)
    ctx.close()
