"""The certificate sheet's words in the holder's language, and how long a sheet will be valid.

The English sentences are :mod:`haven.certs.texts` (what ``haven cert issue
--sheet`` prints); they are repeated here as literals so Babel extracts them
for translation, and a test keeps the two identical. The stubs themselves carry
no words and no number: a torn-off stub does not say what it is, nor how many the holder has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from haven.certs.batch import VACCINATION_VALIDITY_DAYS, expiry_of_test
from haven.certs.trust import DAY, timestamp, week_start
from haven.core.entries import Test, Vaccination
from haven.web.i18n import N_

SHEET_TITLE = N_("Sheet of one-time codes")
INSTRUCTIONS = (
    N_("Each code below is for one check: show it once, then use the next. Cut the codes apart on the dotted lines."),
    N_("Show a different code at every check: two checks that see the same code can tell it was the same person."),
    N_("The codes carry no name. Whoever holds a code can show it, so keep them as you would keep money."),
    N_("Cut this part off and keep it apart from the codes."),
)
VALID_UNTIL = N_("Valid until %(date)s")
# Said on the form before issuing, with the expiry that the chosen entries give the whole sheet.
SHEET_VALID = N_("The sheet will be valid until %(date)s.")
TEST_CUTS = N_(
    "A test is chosen: the whole sheet, vaccinations included, will be valid only until %(date)s (72 hours from "
    "the test's day). To keep the vaccinations valid for a year, issue them on a sheet of their own."
)


@dataclass(frozen=True)
class SheetTexts:
    title: str
    instructions: tuple[str, ...]
    valid_until: str


def texts(_: Callable[..., str], expires: str) -> SheetTexts:
    return SheetTexts(_(SHEET_TITLE), tuple(_(line) for line in INSTRUCTIONS), _(VALID_UNTIL, date=expires))


def when(seconds: int) -> str:
    """An expiry as the sheet prints it."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def expiries(choices: Iterable[tuple[str, Vaccination | Test]], now: dt.datetime) -> tuple[str, dict[str, str]]:
    """The expiry of a sheet of vaccinations issued now, and each test's (the latest test chosen is the one
    stated, and it cuts the whole sheet's validity), as :func:`haven.certs.batch.expiry` reckons them."""
    year = week_start(timestamp(now)) + VACCINATION_VALIDITY_DAYS * DAY
    tests = {key: when(min(year, expiry_of_test(e.date))) for key, e in choices if isinstance(e, Test)}
    return when(year), tests
