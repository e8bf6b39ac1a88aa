"""Languages: English, Korean and Simplified Chinese, from Babel message catalogs.

The catalogs are the ``.po`` files in ``haven/web/locale/``; they are compiled
in memory when the app starts (no ``.mo`` files to build or ship). A page's
language is, in order: the one the user chose (cookie), the session's, the
browser's ``Accept-Language``, English.

>>> negotiate(None, "zh-CN,zh;q=0.9,en;q=0.8")
'zh_Hans'
>>> negotiate("ko", "zh-CN")
'ko'
>>> PUNCTUATION["zh_Hans"].listing.join(["发热", "咳嗽"])
'发热、咳嗽'
"""

from __future__ import annotations

import gettext as gettext_module
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

LOCALES: dict[str, str] = {"en": "English", "ko": "한국어", "zh_Hans": "简体中文"}
HTML_LANG: dict[str, str] = {"en": "en", "ko": "ko", "zh_Hans": "zh-Hans"}
DEFAULT = "en"


@dataclass(frozen=True)
class Punctuation:
    """How a language joins what a page puts side by side (CLDR's list patterns and Chinese typesetting)."""

    comma: str  # between the parts of one phrase: "Vaccination, 2026-11-01"
    listing: str  # between the items of a list: "Fever, Cough"
    colon: str  # after a label: "Symptoms: ..."
    # Chromium's line breaker, in Chinese and Korean text, breaks a date such as 2027-01-26 after a hyphen:
    # such pages hold each date together. (English text never breaks a hyphen before a digit.)
    hold_dates: bool = True


# Chinese takes full-width marks and the enumeration comma, with no spaces; Korean writes Latin marks.
PUNCTUATION: dict[str, Punctuation] = {
    "en": Punctuation(comma=", ", listing=", ", colon=": ", hold_dates=False),
    "ko": Punctuation(comma=", ", listing=", ", colon=": "),
    "zh_Hans": Punctuation(comma="，", listing="、", colon="："),
}
DOMAIN = "messages"
LANG_COOKIE = "haven_lang"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def _match(tag: str) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("ko"):
        return "ko"
    if tag.startswith("zh"):
        # Only Simplified Chinese is translated; it is the closest we have for every zh tag.
        return "zh_Hans"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The locale for a request: ``chosen`` if we have it, else the best of ``Accept-Language``."""
    if chosen in LOCALES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        locale = _match(tag)
        if locale and quality > 0:
            ranked.append((-quality, n, locale))
    return sorted(ranked)[0][2] if ranked else DEFAULT


def locale_dir() -> Traversable:
    return resources.files("haven.web").joinpath("locale")


@cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``locale`` (English: the messages as written)."""
    if locale == DEFAULT or locale not in LOCALES:
        return gettext_module.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with locale_dir().joinpath(locale, "LC_MESSAGES", f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)
