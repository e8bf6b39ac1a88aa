"""Issuing a batch of one-time certificates ("stubs").

A batch is N certificates that share nothing but the facts: each has its own
random one-time id and its own signature, and no batch id exists. The issue
time is rounded down to the start of the week and the expiry follows from it
and the facts, so every stub of a batch (and of every batch issued that week
with the same facts by keys of the same epoch) encodes to the same length and
reveals no more than that. The issuer keeps no record of what it issued.

>>> import datetime as dt
>>> sunday = timestamp(dt.datetime(2026, 11, 29, 15, tzinfo=dt.UTC))
>>> week_start(sunday) == timestamp(dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from haven.certs import base45, cose
from haven.certs.claims import CTI_BYTES, Claims, Facts, day_number, encode_claims
from haven.certs.trust import DAY, WEEK, SigningKey, iso, timestamp, week_start
from haven.errors import InputError, TrustError

VACCINATION_VALIDITY_DAYS = 365
TEST_VALIDITY_HOURS = 72  # counted from the start of the test's day (dates are days, not times)
MAX_BATCH = 100

__all__ = ["DAY", "MAX_BATCH", "WEEK", "expiry", "issue_batch", "timestamp", "week_start"]


def expiry(facts: Facts, iat: int, valid_days: int = VACCINATION_VALIDITY_DAYS) -> int:
    """When a certificate stating ``facts`` expires: a year from issue, less if it states a test."""
    exp = iat + valid_days * DAY
    for test in facts.tests:
        exp = min(exp, expiry_of_test(test.date))
    return exp


def expiry_of_test(day: dt.date) -> int:
    """When a certificate stating a test of ``day`` expires at the latest (whatever else it states)."""
    return day_number(day) * DAY + TEST_VALIDITY_HOURS * 3600


def issue_batch(
    facts: Facts,
    key: SigningKey,
    now: int,
    count: int,
    random_bytes: Callable[[int], bytes],
    valid_days: int = VACCINATION_VALIDITY_DAYS,
) -> list[str]:
    """``count`` independent certificates stating ``facts``, signed by ``key`` at ``now``."""
    if not 1 <= count <= MAX_BATCH:
        raise InputError(f"A batch holds 1 to {MAX_BATCH} certificates.")
    if not 1 <= valid_days <= 2 * VACCINATION_VALIDITY_DAYS:
        raise InputError(f"A certificate is valid for 1 to {2 * VACCINATION_VALIDITY_DAYS} days.")
    if not facts:
        raise InputError("There is nothing to certify.")
    if not key.trusted().signs_at(now):
        raise TrustError(
            f"Signing key {key.kid.hex()} signs from {iso(key.not_before)} to {iso(key.not_after)}, not now."
        )
    iat = week_start(now)
    exp = expiry(facts, iat, valid_days)
    if exp <= now:
        raise InputError("The test is too old to certify: a certificate for it would already have expired.")
    protected = {cose.HEADER_ALG: cose.ES256, cose.HEADER_KID: key.kid}
    stubs = []
    for _ in range(count):
        payload = encode_claims(Claims(exp=exp, iat=iat, cti=random_bytes(CTI_BYTES), facts=facts))
        stubs.append(base45.encode(cose.encode_sign1(key.private, protected, payload)))
    return stubs
