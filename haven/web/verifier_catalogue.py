"""The names the offline verifier shows, in English, Korean and Chinese, by the certificate's codes.

A certificate states products, tests, results and diseases as small numbers
(docs/certificate-format.md); the verifier page names them in its language from
``static/verifier/catalogue.json``, which this module writes from the catalogue
and the web's message catalogs (a test checks the file is up to date)::

    .venv/bin/python -m haven.web.verifier_catalogue
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from haven.certs import codes
from haven.certs.claims import DISEASES
from haven.core.catalogue import catalogue
from haven.web.i18n import translations
from haven.web.vocab import product_name, word

LANGUAGES = {"en": "en", "ko": "ko", "zh": "zh_Hans"}


def _names(msgid: str) -> dict[str, str]:
    return {lang: translations(locale).gettext(msgid) for lang, locale in LANGUAGES.items()}


def build() -> dict[str, Any]:
    cat = catalogue()
    return {
        "products": {str(p.id): _names(product_name(p.key)) for p in cat.products.values()},
        "tests": {str(t.id): _names(word(key)) for key, t in cat.tests.items()},
        "results": {str(r.id): _names(word(key)) for key, r in cat.results.items()},
        "diseases": {str(n): _names(word(key)) for n, key in enumerate(DISEASES, start=1)},
        "codes": _external_codes(),
    }


def _external_codes() -> dict[str, dict[str, int]]:
    """EU DCC and SMART Health Card codes -> the catalogue's numbers, so foreign certificates read alike."""
    cat = catalogue()
    products: dict[str, dict[str, int]] = {"eu_dcc_mp": {}, "cvx": {}}
    for product in cat.products.values():
        for system, code in product.codes.items():
            if system in products:
                products[system].setdefault(code, product.id)
    for code, key in codes.CVX_ALIASES.items():
        products["cvx"].setdefault(code, cat.products[key].id)
    return {
        **products,
        "eu_test": {code: cat.tests[key].id for code, key in codes.EU_TEST_TYPES.items()},
        "loinc": {code: cat.tests[key].id for code, key in codes.LOINC_TESTS.items()},
        "snomed_result": {code: cat.results[key].id for code, key in codes.SNOMED_RESULTS.items()},
    }


def text() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def path() -> Any:
    return resources.files("haven.web").joinpath("static", "verifier", "catalogue.json")


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    from pathlib import Path

    Path(str(path())).write_text(text(), "utf-8")
