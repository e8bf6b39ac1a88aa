"""What one running app holds: settings, the site, sessions, rate limits and templates."""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from jinja2 import Environment

from haven.errors import AuthError
from haven.web.ratelimit import RateLimiter
from haven.web.sessions import BrowserSessions
from haven.web.settings import WebSettings
from haven.web.site import SignedIn, WebSite


@dataclass
class AppState:
    settings: WebSettings
    site: WebSite
    sessions: BrowserSessions
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

    async def sign_in(self, address: str, name: str, passphrase: str) -> SignedIn:
        """Check a staff sign-in through the site's key slots, within the web's own limits.

        Failures count against the client address and against every address together. The limits
        are checked when the attempt is queued and again when its passphrase check starts, so a
        burst queued at once runs at most ``sign_in_concurrency - 1`` checks past them. They live in
        this process's memory only: the site's attempts file, its backoff and its erase-after are
        for passphrases typed at the machine.
        """
        limits = [
            ("sign-in", address_key(address), self.settings.sign_in_limit),
            ("sign-in-all", "", self.settings.sign_in_limit_global),
        ]

        def check() -> None:
            for bucket, key, limit in limits:
                self.limiter.check(bucket, key, limit, "sign-in attempts")

        def attempt() -> SignedIn:
            check()
            try:
                return self.site.sign_in(name, passphrase)
            except AuthError:
                for bucket, key, _ in limits:
                    self.limiter.record(bucket, key)
                raise

        check()
        return await asyncio.wrap_future(self._sign_ins.submit(attempt))


def address_key(address: str) -> str:
    """What the per-address limit counts by: the address, or an IPv6 address's /64 (one host's share)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
