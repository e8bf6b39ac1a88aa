"""The certificate sheet's words in the page's language.

The English sentences are :mod:`haven.certs.texts` (what ``haven cert issue
--sheet`` prints); they are repeated here as literals so Babel extracts them
for translation, and a test keeps the two identical. The stubs themselves carry
no words and no number: a torn-off stub does not say what it is, nor how many the holder has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from haven.web.i18n import N_

SHEET_TITLE = N_("Sheet of one-time codes")
INSTRUCTIONS = (
    N_("Each code below can be checked once. Cut the codes apart along the dotted lines."),
    N_("Show a different code at every check: two checks that see the same code can tell it was the same person."),
    N_("The codes carry no name. Whoever holds a code can show it, so keep them as you would keep money."),
    N_("Cut this part off and keep it apart from the codes."),
)


@dataclass(frozen=True)
class SheetTexts:
    title: str
    instructions: tuple[str, ...]


def texts(_: Callable[..., str]) -> SheetTexts:
    return SheetTexts(_(SHEET_TITLE), tuple(_(line) for line in INSTRUCTIONS))
