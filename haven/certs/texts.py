"""Every string printed on a certificate sheet, in one place (translations come with the web issue).

The stubs themselves carry no words: a folded sheet or a torn-off stub does
not tell a passer-by that its bearer carries a health certificate. Only the
instructions part, meant to be cut off and kept apart, explains.
"""

from __future__ import annotations

SHEET_TITLE = "Sheet of one-time codes"
INSTRUCTIONS = (
    "Each code below is for one check: show it once, then use the next. Cut the codes apart on the dotted lines.",
    "Show a different code at every check: two checks that see the same code can tell it was the same person.",
    "The codes carry no name. Whoever holds a code can show it, so keep them as you would keep money.",
    "Cut this part off and keep it apart from the codes.",
)
