"""The lots the visit form offers: each product's lots in use today, from the site's register."""

from __future__ import annotations

import datetime as dt

from haven.core.lots import Register


def lot_choices(register: Register, today: dt.date) -> dict[str, list[str]]:
    """Lot numbers in use by product, in register order; products without any are absent (typed freely)."""
    out: dict[str, list[str]] = {}
    for lot in register.in_use(today):
        out.setdefault(lot.product, []).append(lot.lot)
    return out
