"""What one running app holds: settings, the site, sessions, rate limits and templates."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from jinja2 import Environment

from haven.errors import AuthError, LockedOutError
from haven.site.staff import StaffMember
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
    _sign_ins: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Passphrase checks are memory-hard (Argon2id): at most ``sign_in_concurrency`` run at once, on
        # their own threads, and a burst of sign-ins queues here instead of exhausting memory or
        # occupying the threads every other request needs.
        self._sign_ins = ThreadPoolExecutor(
            max_workers=max(1, self.settings.sign_in_concurrency), thread_name_prefix="haven-sign-in"
        )
        self.site.on_lock(self.sessions.sign_out_all)

    async def sign_in(self, address: str, name: str, passphrase: str) -> tuple[StaffMember, int]:
        """Check a staff sign-in through the site's key slots; failed ones count against the
        per-address limit (the site's own backoff, shared by every way in, comes on top)."""
        limit = self.settings.sign_in_limit
        self.limiter.check("sign-in", address, limit, "sign-in attempts")
        future = self._sign_ins.submit(self.site.sign_in, name, passphrase)
        try:
            return await asyncio.wrap_future(future)
        except LockedOutError:
            raise
        except AuthError:
            self.limiter.hit("sign-in", address, limit, "sign-in attempts")
            raise
