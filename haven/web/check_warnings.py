"""The checks before saving as the visit form and the history say them, in the page's language.

Built from each warning's code and details (haven/core/checks.py), never from the English sentence
the command line prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from haven.web import forms
from haven.web.i18n import N_
from haven.web.vocab import product_name

Gettext = Callable[[str], str]

WARNING_TEXTS = {
    "interval-too-short": N_("Dose %(dose)s of %(product)s is early: the earliest day for it is %(earliest)s."),
    "dose-already-given": N_("Dose %(dose)s of %(product)s: dose %(recorded)s of this series is already recorded."),
    "dose-skipped": N_("Dose %(dose)s of %(product)s: the dose due next is dose %(expected)s."),
    "beyond-series": N_("%(product)s has %(doses)s doses and no booster: dose %(dose)s is beyond its series."),
    "live-in-pregnancy": N_("%(product)s is a live vaccine: it is not given during pregnancy."),
    "sex-and-pregnancy": N_("The holder is recorded as male and as pregnant."),
    "age-and-pregnancy": N_("The holder is recorded as pregnant in the age band %(band)s."),
    "lot-unknown": N_("Lot %(lot)s of %(product)s is not in this site's lot register."),
}
# What the history says of a confirmed warning, beside the reason.
WARNING_TITLES = {
    "interval-too-short": N_("dose before its earliest day"),
    "dose-already-given": N_("dose already recorded"),
    "dose-skipped": N_("a dose skipped"),
    "beyond-series": N_("dose beyond the series"),
    "live-in-pregnancy": N_("live vaccine in pregnancy"),
    "sex-and-pregnancy": N_("male and pregnant"),
    "age-and-pregnancy": N_("pregnant at a child's age"),
    "lot-unknown": N_("lot not in the register"),
}


def warning_text(warning: Mapping[str, Any], _: Gettext) -> str:
    details = dict(warning.get("details", {}))
    if "product" in details:
        details["product"] = _(product_name(details["product"]))
    template = WARNING_TEXTS.get(warning["code"])
    return _(template) % details if template else str(warning["code"])


def form_warnings(sections: Sequence[str], warnings: Sequence[Mapping[str, Any]], _: Gettext) -> list[tuple[str, str]]:
    """(form field, text) for each warning, the field being where the warning links to."""
    return [(forms.field_name(sections, w["field"]), warning_text(w, _)) for w in warnings]


def warning_title(code: str) -> str:
    """The msgid of a confirmed warning in a few words, for the history."""
    return WARNING_TITLES.get(code, code)
