"""Verify any certificate Haven reads: its own, EU DCC (``HC1:``) and SMART Health Cards.

Detection and dispatch only: each format's rules are in its module
(:mod:`~haven.certs.haven_format`, :mod:`~haven.certs.eudcc`, :mod:`~haven.certs.shc`),
the outcome and its JSON in :mod:`~haven.certs.result`.
"""

from __future__ import annotations

import datetime as dt

from haven.certs import base45, eudcc, shc
from haven.certs.haven_format import verify_haven
from haven.certs.result import Trust, Verified
from haven.errors import CertificateError, MalformedCertificate

_BASE45 = frozenset(base45.ALPHABET)


def detect_format(text: str) -> str | None:
    """Which format ``text`` claims to be, from its first characters (None: none Haven reads)."""
    if text.startswith("HC1:"):
        return "eu-dcc"
    if text and text[0] in _BASE45:
        return "haven"  # Base45 decoding checks the rest; no other format starts with a Base45 character
    if text.startswith(("shc:/", "{")) or (text.startswith("eyJ") and text.count(".") == 2):
        return "shc"
    return None


def verify(text: str, trust: Trust, now: dt.datetime) -> Verified:
    """Verify ``text`` in whichever format it is, offline, as of ``now``."""
    fmt = detect_format(text)
    try:
        if fmt == "haven":
            return verify_haven(text, trust.haven, now)
        if fmt == "eu-dcc":
            return eudcc.verify(text, trust.eudcc, now)
        if fmt == "shc":
            return shc.verify(text, trust.shc, now)
    except CertificateError as exc:
        if exc.format is None:
            exc.format = fmt
        raise
    raise MalformedCertificate(
        "This is not a certificate in any format Haven reads (Haven, EU DCC, SMART Health Card)."
    )
