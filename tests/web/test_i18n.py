"""Every message is translated into Korean and Simplified Chinese, and the catalogs match the sources."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from haven.web.i18n import negotiate, translations

WEB = Path(__file__).resolve().parents[2] / "haven" / "web"
LOCALE = WEB / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(name: str) -> dict[str, str]:
    """msgid → msgstr; a message with plural forms is keyed by its singular and gives its forms, each required."""
    path = LOCALE / "messages.pot" if name == "pot" else LOCALE / name / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        messages = [m for m in read_po(f) if m.id]
    out: dict[str, str] = {}
    for m in messages:
        if isinstance(m.id, tuple):
            forms = [s for s in m.string if s]
            out[m.id[0]] = "\n".join(forms) if len(forms) == len(m.string) else ""
        else:
            out[m.id] = m.string
    return out


@pytest.mark.parametrize("locale", ["ko", "zh_Hans"])
def test_every_message_is_translated(locale: str) -> None:
    template, translated = catalog("pot"), catalog(locale)
    assert len(template) > 150
    missing = [m for m in template if not translated.get(m)]
    assert not missing, f"untranslated in {locale}: {missing}"
    extra = set(translated) - set(template)
    assert not extra, f"obsolete in {locale}: {extra}"
    for msgid, text in translated.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), (locale, msgid)
        if msgid != "Haven":
            # Real translations: no line of English left (codes such as PIN, QR, PCR, YYYY-MM-DD may stay).
            words = re.findall(r"[A-Za-z]{4,}", PLACEHOLDER.sub("", text))
            prose = {w for w in words if (w.islower() or w.istitle()) and w != "Haven"}
            assert not prose, (locale, msgid, text)


def test_the_template_matches_the_sources(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            str(LOCALE / "babel.cfg"),
            "-k",
            "N_",
            "-k",
            "_",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-o",
            str(out),
            ".",
        ],
        cwd=WEB.parents[1],
        check=True,
        capture_output=True,
    )
    with out.open("rb") as f:
        fresh = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(f) if m.id}
    assert fresh == set(catalog("pot")), "run scripts/web-messages.sh and translate the new messages"


def test_verifier_strings_exist_in_every_language() -> None:
    strings = json.loads((WEB / "static" / "verifier" / "strings.json").read_text("utf-8"))
    assert set(strings) == {"en", "ko", "zh"}
    for lang in ("ko", "zh"):
        assert set(strings[lang]) == set(strings["en"]), lang
        for key, text in strings[lang].items():
            words = re.sub(r"\{\w+\}", "", text)  # placeholders such as {network} stay, and codes (HTTPS)
            assert text and not [w for w in re.findall(r"[A-Za-z]{4,}", words) if not w.isupper()], (lang, key, text)
            assert sorted(re.findall(r"\{\w+\}", text)) == sorted(re.findall(r"\{\w+\}", strings["en"][key]))
    reasons = re.findall(r'^  "([a-z-]+)", //', (WEB / "static" / "verifier" / "verify.js").read_text("utf-8"), re.M)
    assert len(reasons) >= 5
    for reason in reasons:
        assert f"reason-{reason}" in strings["en"], reason


def test_translations_load_and_apply() -> None:
    assert translations("ko").gettext("Open a card") == "카드 열기"
    assert translations("zh_Hans").gettext("Open a card") == "打开卡片"
    assert translations("en").gettext("Open a card") == "Open a card"


@pytest.mark.parametrize(
    ("chosen", "header", "expected"),
    [
        (None, None, "en"),
        (None, "ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        (None, "en;q=0.5,zh-TW;q=0.9", "zh_Hans"),
        (None, "fr,de", "en"),
        ("zh_Hans", "ko", "zh_Hans"),
        ("xx", "ko", "ko"),
        (None, "ko;q=0", "en"),
    ],
)
def test_language_negotiation(chosen: str | None, header: str | None, expected: str) -> None:
    assert negotiate(chosen, header) == expected


def test_the_verifiers_catalogue_is_up_to_date() -> None:
    from haven.web import verifier_catalogue

    written = (WEB / "static" / "verifier" / "catalogue.json").read_text("utf-8")
    assert written == verifier_catalogue.text(), "run .venv/bin/python -m haven.web.verifier_catalogue"
    names = json.loads(written)
    assert names["products"]["1"]["en"].startswith("Comirnaty") and names["diseases"]["2"]["ko"] == "홍역"


def test_the_sheet_says_what_haven_cert_issue_prints() -> None:
    from haven.certs import texts
    from haven.web import sheet

    assert (sheet.SHEET_TITLE, sheet.INSTRUCTIONS) == (texts.SHEET_TITLE, texts.INSTRUCTIONS)
