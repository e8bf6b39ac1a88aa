"""What one running app holds: settings, the site, sessions, rate limits and templates."""

from __future__ import annotations

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

    def sign_in(self, address: str, name: str, passphrase: str) -> Staff:
        """Check a staff sign-in; failed ones count against the per-address limit."""
        limit = self.settings.sign_in_limit
        self.limiter.check("sign-in", address, limit, "sign-in attempts")
        try:
            return self.site.staff.sign_in(name, passphrase)
        except AuthError:
            self.limiter.hit("sign-in", address, limit, "sign-in attempts")
            raise
