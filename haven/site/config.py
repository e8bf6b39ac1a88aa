"""Site-security settings from the environment, with secrets hidden in reprs.

``HAVEN_PASSPHRASE``
    A staff passphrase for commands that unlock the site. Meant for scripts and
    tests: an environment variable can leak through ``/proc``, shell history or
    crash reports. People should let Haven prompt instead.

``HAVEN_KDF_PROFILE``
    ``calibrated`` (the default): a new site calibrates Argon2id on this
    machine to at least 0.5 s and 256 MiB per attempt. ``test``: fixed, cheap
    parameters (1 pass, 8 MiB) and a short settle time, so a test suite can
    create and unlock hundreds of sites. A site made with ``test`` is cheap to
    attack offline; Haven warns whenever it opens one without the variable set.

>>> s = SecuritySettings.from_env({"HAVEN_PASSPHRASE": "grain twenty head airport swarm"})
>>> s
SecuritySettings(kdf_profile='calibrated', passphrase=Secret('**********'))
>>> s.passphrase.reveal() if s.passphrase else None
'grain twenty head airport swarm'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from haven.errors import InputError

KdfProfile = Literal["calibrated", "test"]

# Every unlock attempt (right, duress or wrong) is padded to end this long after
# its Argon2id run, so the work that follows (opening the database, or erasing
# and rebuilding the site) cannot be told apart by timing. See docs/site-security.md.
SETTLE_SECONDS: dict[KdfProfile, float] = {"calibrated": 0.25, "test": 0.02}


class Secret:
    """A string that never shows itself in a repr or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class SecuritySettings:
    kdf_profile: KdfProfile = "calibrated"
    passphrase: Secret | None = None

    @property
    def settle_seconds(self) -> float:
        return SETTLE_SECONDS[self.kdf_profile]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecuritySettings:
        env = os.environ if environ is None else environ
        profile = env.get("HAVEN_KDF_PROFILE", "calibrated").strip().lower() or "calibrated"
        if profile not in SETTLE_SECONDS:
            raise InputError(f"HAVEN_KDF_PROFILE must be 'calibrated' or 'test', not {profile!r}.")
        passphrase = env.get("HAVEN_PASSPHRASE")
        return cls(
            kdf_profile="test" if profile == "test" else "calibrated",
            passphrase=Secret(passphrase) if passphrase else None,
        )
