"""What one running app holds: settings, the site, sessions, rate limits and templates."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from jinja2 import Environment

from haven.errors import AuthError
from haven.web.auth import Staff
from haven.web.ratelimit import RateLimiter
from haven.web.sessions import SessionStore
from haven.web.settings import WebSettings
from haven.web.site import Site


@dataclass
class AppState:
    settings: WebSettings
    site: Site
    sessions: SessionStore
    limiter: RateLimiter
    templates: Environment
    static_version: str

    def __post_init__(self) -> None:
        self._sign_ins = threading.BoundedSemaphore(max(1, self.settings.sign_in_concurrency))

    def sign_in(self, address: str, name: str, passphrase: str) -> Staff:
        """Check a staff sign-in; failed ones count against the per-address limit.

        Passphrase checks are memory-hard (Argon2id): at most ``sign_in_concurrency`` run at
        once, so a burst of sign-ins queues instead of exhausting memory.
        """
        limit = self.settings.sign_in_limit
        self.limiter.check("sign-in", address, limit, "sign-in attempts")
        try:
            with self._sign_ins:
                return self.site.staff.sign_in(name, passphrase)
        except AuthError:
            self.limiter.hit("sign-in", address, limit, "sign-in attempts")
            raise
