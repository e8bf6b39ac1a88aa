"""Passphrase keys: Argon2id with parameters calibrated on the site's own machine.

A site calibrates once, at ``haven init``: memory is fixed at 256 MiB (the
floor), lanes follow the machine's cores (up to 4), and passes are added until
one derivation takes at least 0.5 s here (CPU time per lane: other programs
busy during calibration cannot make it pick weaker parameters). The parameters are stored in the key
slot file's header, so every later attempt, right or wrong, costs the same.

>>> TEST_PARAMS.meets_floor()
False
>>> KdfParams(time_cost=3, memory_kib=MIN_MEMORY_KIB, parallelism=2).meets_floor()
True
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from haven.site.config import KdfProfile

MIN_SECONDS = 0.5
MIN_MEMORY_KIB = 256 * 1024
MAX_PARALLELISM = 4
# What a calibration can produce, at most: a header asking for more is damaged or forged, and
# would make every unlock hang (one flipped byte once asked for 65,284 passes or 16 GiB).
MAX_TIME_COST = 64
MAX_MEMORY_KIB = 1024 * 1024
MAX_WORK_KIB = MAX_TIME_COST * MIN_MEMORY_KIB  # passes x memory: a few seconds at most on a slow machine
KEY_BYTES = 32
SALT_BYTES = 32

# HAVEN_KDF_PROFILE=test: cheap on purpose, for test suites only.
TEST_PARAMS_TIME_COST = 1
TEST_PARAMS_MEMORY_KIB = 8 * 1024


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters (memory in KiB)."""

    time_cost: int
    memory_kib: int
    parallelism: int

    def derive(self, secret: bytes, salt: bytes) -> bytes:
        """The 256-bit key for ``secret`` under ``salt``: one full Argon2id run."""
        return hash_secret_raw(
            secret,
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=KEY_BYTES,
            type=Type.ID,
        )

    def meets_floor(self) -> bool:
        """Memory at or above the 256 MiB floor (time can only be measured, see :func:`calibrate`)."""
        return self.memory_kib >= MIN_MEMORY_KIB and self.time_cost >= 1

    def plausible(self) -> bool:
        """Within what :func:`calibrate` (or the test profile) can choose, so a derivation ends in seconds."""
        t, m, p = self.time_cost, self.memory_kib, self.parallelism
        return (
            1 <= t <= MAX_TIME_COST
            and TEST_PARAMS_MEMORY_KIB <= m <= MAX_MEMORY_KIB
            and t * m <= MAX_WORK_KIB
            and 1 <= p <= MAX_PARALLELISM
        )

    def to_doc(self) -> dict[str, int]:
        return {"time_cost": self.time_cost, "memory_kib": self.memory_kib, "parallelism": self.parallelism}


TEST_PARAMS = KdfParams(TEST_PARAMS_TIME_COST, TEST_PARAMS_MEMORY_KIB, 1)


@dataclass(frozen=True)
class Calibration:
    params: KdfParams
    seconds: float  # the faster of the two final runs (both reached the target)


def default_parallelism() -> int:
    return max(1, min(MAX_PARALLELISM, os.cpu_count() or 1))


def time_derive(params: KdfParams, clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    params.derive(b"haven calibration", bytes(SALT_BYTES))
    return clock() - start


def calibrate(
    target_seconds: float = MIN_SECONDS,
    memory_kib: int = MIN_MEMORY_KIB,
    parallelism: int | None = None,
    clock: Callable[[], float] | None = None,
) -> Calibration:
    """Parameters whose derivation takes at least ``target_seconds`` on this machine.

    Time is measured as CPU time per lane (``process_time() / lanes``): what one
    derivation takes on this machine when it is idle. Wall-clock time would
    pick weaker parameters whenever other programs happen to be busy during
    ``haven init``; CPU time does not shrink under load (a loaded machine only
    makes the real wait longer). The final choice is checked twice and both runs
    must reach the target, so a lucky fast run cannot leave the site below the floor.
    """
    lanes = parallelism or default_parallelism()
    if clock is None:

        def clock() -> float:
            return time.process_time() / lanes

    time_derive(KdfParams(1, memory_kib, lanes), clock)  # warm up: the first run also pays for page faults
    time_cost = 1
    while True:
        params = KdfParams(time_cost, memory_kib, lanes)
        seconds = time_derive(params, clock)
        if time_cost >= MAX_TIME_COST:  # a machine this fast still pays 64 passes of 256 MiB
            return Calibration(params, seconds)
        if seconds >= target_seconds:
            again = time_derive(params, clock)
            if again >= target_seconds:
                return Calibration(params, min(seconds, again))
            time_cost += 1
            continue
        per_pass = seconds / time_cost
        time_cost = min(MAX_TIME_COST, max(time_cost + 1, math.ceil(target_seconds * 1.1 / per_pass)))


def params_for_new_site(profile: KdfProfile) -> Calibration:
    """Calibrated parameters, or the fixed cheap ones under ``HAVEN_KDF_PROFILE=test``."""
    if profile == "test":
        return Calibration(TEST_PARAMS, time_derive(TEST_PARAMS))
    return calibrate()
