"""Error messages in the page's language, built from the error's class and structured details.

Haven's errors carry an English sentence for the CLI, a stable ``code`` and
structured details (``problem``, an entry's ``limits``, a card's ``position``
and ``suggestion``, a wait). Pages rebuild the sentence in their own language
from the class and details, through the gettext catalogues (``locale/``), and
never read the English one, so rewording it breaks no translation. Anything
not covered here falls back to the English message.
"""

from __future__ import annotations

from collections.abc import Callable

from haven.core.card import typed_parts
from haven.errors import (
    AuditTamperedError,
    CardError,
    EntryError,
    ExpiredLotError,
    HavenError,
    InputError,
    LockedOutError,
    PinError,
    RateLimitError,
)
from haven.web.i18n import N_

Gettext = Callable[[str], str]

CARD_PROBLEMS = {
    "count": N_("A card has 13 words (the last one is the check word); this has %(n)s."),
    "unknown-word": N_("Word %(position)s (“%(word)s”) is not a card word."),
    "mixed-language": N_(
        "Word %(position)s (“%(word)s”) is in another language: a card's words are all in one language."
    ),
    "length": N_("A card code has 32 characters; this one has %(n)s."),
    "character": N_("Character %(position)s cannot be in a card code (only A-Z and 2-7)."),
    "no-qr": N_("No QR code was found in this photo. Take it closer, flat and in good light."),
    "checksum": N_(
        "These words or this code do not check out: a word or character is wrong, or two words are swapped. "
        "Read them again from the card."
    ),
}
DID_YOU_MEAN = N_("Did you mean “%(word)s”?")
EMPTY_CARD = N_("Enter the card's 13 words, or scan its QR code.")

# Entry problems (haven.errors.ENTRY_REASONS) as a form says them; the others keep the English reason.
ENTRY_PROBLEMS = {
    "required": N_("This is required."),
    "choice": N_("Choose one of the options."),
    "whole-number": N_("Enter a whole number."),
    "range": N_("Enter a number from %(low)s to %(high)s."),
    "date-format": N_("Enter a date as YYYY-MM-DD."),
    "date-invalid": N_("There is no such day: check the month and the day."),
    "date-future": N_("This date is in the future (today is %(today)s)."),
    "date-too-early": N_("This date is before 1900."),
    "too-long": N_("Write at most %(limit)s characters."),
    "text": N_("Enter text."),
    "no-entries": N_("Fill in at least one section: a vaccination, a test, care given or a note."),
    "birth-year-and-age-band": N_("Give a birth year or an age band, not both."),
    "number": N_("Enter a number."),
    "decimals": N_("Use at most %(places)s decimals."),
    "no-measurement": N_("Fill in at least one measurement of this section, or clear it."),
    "pair": N_("Give both blood pressures, systolic and diastolic."),
    "diastolic-high": N_("The diastolic pressure must be lower than the systolic."),
    "after-entry": N_("The vaccine was given after this date: check both dates."),
    "substance": N_("Choose a substance from the list or write one in words, not both."),
}
# A correction's own problems (haven/core/corrections.py), said the same way.
CORRECTION_PROBLEMS = {
    "unchanged": N_("Nothing is changed: correct a field, or go back and leave the entry as it is."),
}

# The audit log's check (haven.errors.AUDIT_FAULTS) as the audit page says it: the English is the command line's.
AUDIT_PROBLEMS = {
    "unopenable": N_("Audit entry %(seq)s cannot be opened: it was changed."),
    "moved": N_("Audit entry %(seq)s was moved from place %(found)s."),
    "out-of-place": N_("Audit entry %(seq)s is missing or out of place (found %(found)s there)."),
    "chain": N_("Audit entry %(seq)s does not match the chain: it, or one before it, was changed or moved."),
    "no-head": N_("The audit log's head record is missing."),
    "cut": N_("The audit log ends at entry %(last)s but its head says %(head)s: entries were cut from the end."),
    "head": N_("The audit log's head does not match its last entry."),
    "witness": N_(
        "The audit log no longer passes through the head witnessed at entry %(seq)s: it was rewritten since."
    ),
}
# A witnessed head that does not parse (haven.site.audit.Head.parse).
WITNESS_PROBLEMS = {
    "witness-form": N_("A head written down earlier looks like 42:9f3a… (sequence, colon, hash)."),
    "witness-hash": N_("A head's hash has 64 hex digits."),
}

BY_CODE = {
    "no-records": N_("No records for this card at this site (or the PIN is wrong)."),
    "invalid-pin": N_("A PIN has 4 to 64 characters."),
    "auth": N_("Sign in to continue."),
    "permission-denied": N_("Your role may not do this."),
    "csrf": N_("This form has expired. Reload the page and try again."),
    "rate-limited": N_("Too many attempts. Wait %(retry_after)s seconds and try again."),
    "locked-out": N_("Too many wrong passphrases in a row at this site. Wait %(wait)s seconds and try again."),
    "trust": N_(
        "This site cannot sign certificates now: it has no trust list, or no signing key valid today. "
        "Tell the site's coordinator."
    ),
    "unavailable": N_("This is not available while the server is locked. Sign in first."),
    "no-open-card": N_("No card is open (cards close after a few minutes unused). Open the card again."),
    "store": N_("The site database cannot be used right now. Try again; if it goes on, tell the site's coordinator."),
    "store-full": N_("The disk is full: nothing was saved. Tell the site's coordinator."),
    "store-corrupt": N_("The site database is damaged. Tell the site's coordinator."),
    "error": N_("Something went wrong. Nothing was saved."),
}
# Input problems other than entries' and cards' (``InputError.problem``).
INPUT_PROBLEMS = {
    "duress-same": N_("The duress passphrase must differ from the passphrase."),
    "passphrase-taken": N_("This passphrase cannot be used here; choose another."),
    "name-empty": N_("A staff name cannot be empty."),
    "name-long": N_("A staff name has at most %(max)s bytes in UTF-8."),
    "name-unprintable": N_("A staff name has printable characters only."),
    "no-staff": N_("No staff member here is called “%(name)s”."),
    "staff-taken": N_("There is already a staff member called “%(name)s”."),
    "no-role": N_("A staff member needs at least one role."),
}
NOT_FOUND = N_("There is no such page.")
NOT_THIS_WAY = N_("This page cannot be used that way.")
BAD_FORM = N_("The request does not have the expected form.")  # a field missing, or longer than its form allows
UNEXPECTED = BY_CODE["error"]
BAD_CREDENTIALS = N_("That staff name and passphrase do not match.")
BAD_IMAGE = N_("This file is not a photo that can be read.")
LOT_EXPIRED = N_("Lot %(lot)s expired on %(expiry)s: use a lot that has not expired.")
NO_PHOTO = N_("Choose a photo of the QR code first, then read it.")
NO_COUNTS_KEY = N_(
    "This site cannot read network totals: they are read at the root's site, whose coordinators hold the "
    "network counts key."
)


def card_error(exc: CardError, typed: str, _: Gettext) -> str:
    """A card error in the page's language, naming the bad word from ``typed`` where there is one."""
    problem = exc.problem
    if problem == "no-qr":
        return _(CARD_PROBLEMS["no-qr"])
    if not typed.strip():
        return _(EMPTY_CARD)
    template = CARD_PROBLEMS.get(str(problem))
    if template is None:
        return exc.message
    parts = typed_parts(typed)  # split as the card's parser splits it (hyphens, commas, ... are separators)
    position = exc.details.get("position")
    word = ""
    if isinstance(position, int):
        if len(parts) == 1 and problem != "character":
            parts = list(parts[0])
        if 0 < position <= len(parts):
            word = parts[position - 1]
    n = len("".join(parts)) if problem == "length" else len(parts)
    text = _(template) % {"n": n, "position": position, "word": word}
    if exc.suggestion:
        text += " " + _(DID_YOU_MEAN) % {"word": exc.suggestion}
    return text


def entry_reason(exc: EntryError, _: Gettext) -> str:
    """An entry problem in the page's language, from its problem and limits (never from the English)."""
    template = ENTRY_PROBLEMS.get(exc.problem) or CORRECTION_PROBLEMS.get(exc.problem)
    return _(template) % exc.limits if template else exc.message


def error_message(exc: HavenError, _: Gettext, typed: str = "") -> str:
    """Any Haven error as one sentence in the page's language."""
    if isinstance(exc, CardError):
        return card_error(exc, typed, _)
    if exc.problem == "image":
        return _(BAD_IMAGE)
    if exc.problem == "no-photo":
        return _(NO_PHOTO)
    if exc.problem == "no-counts-key":
        return _(NO_COUNTS_KEY)
    if isinstance(exc, EntryError):
        return entry_reason(exc, _)
    if isinstance(exc, AuditTamperedError) and exc.problem in AUDIT_PROBLEMS:
        return _(AUDIT_PROBLEMS[exc.problem]) % {"seq": exc.seq, **exc.values}
    if exc.problem in WITNESS_PROBLEMS:
        return _(WITNESS_PROBLEMS[exc.problem])
    if isinstance(exc, ExpiredLotError):
        return _(LOT_EXPIRED) % {"lot": exc.lot, "expiry": exc.expiry}
    if isinstance(exc, LockedOutError):
        return _(BY_CODE["locked-out"]) % {"wait": round(exc.wait_seconds)}
    if isinstance(exc, RateLimitError):
        return _(BY_CODE["rate-limited"]) % {"retry_after": exc.retry_after}
    if exc.code == "auth" and exc.details.get("reason") == "credentials":
        return _(BAD_CREDENTIALS)
    if isinstance(exc, PinError):
        return _(BY_CODE["invalid-pin"])
    if isinstance(exc, InputError) and exc.problem in INPUT_PROBLEMS:
        return _(INPUT_PROBLEMS[exc.problem]) % exc.details
    template = BY_CODE.get(exc.code)
    return _(template) if template else exc.message
