"""Web settings: from arguments, then ``HAVEN_WEB_*`` environment variables, then defaults.

>>> WebSettings.from_env({"HAVEN_WEB_PORT": "9000", "HAVEN_WEB_CARD_IDLE_S": "60"}).port
9000
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from haven.errors import InputError


@dataclass(frozen=True)
class Limit:
    """At most ``count`` attempts in any ``window_s`` seconds."""

    count: int
    window_s: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"20/300"``: 20 attempts per 300 seconds."""
        try:
            count, window = text.split("/")
            return cls(int(count), int(window))
        except ValueError:
            raise InputError(f"A limit is written COUNT/SECONDS (like 20/300), not {text!r}.") from None

    def __str__(self) -> str:
        return f"{self.count}/{self.window_s}"


@dataclass(frozen=True)
class WebSettings:
    """How ``haven serve`` behaves. Every field has a ``HAVEN_WEB_<NAME>`` variable (docs/web.md)."""

    host: str = "127.0.0.1"
    port: int = 8000
    # None: cookies are Secure when the request came over https (the usual case behind TLS);
    # True forces Secure; False never sets it (plain http on a LAN: see docs/web.md).
    secure_cookies: bool | None = None
    session_idle_s: int = 30 * 60  # a signed-in session ends after this long unused
    auto_lock_s: int = 30 * 60  # with no staff request for this long, the server locks (forgets the key)
    card_idle_s: int = 5 * 60  # an open card is closed after this long unused
    max_sessions: int = 5000  # the oldest idle sessions are dropped beyond this
    card_limit: Limit = field(default_factory=lambda: Limit(20, 300))  # card opens per session
    card_limit_address: Limit = field(default_factory=lambda: Limit(60, 300))  # card opens per client address
    pin_limit: Limit = field(default_factory=lambda: Limit(5, 900))  # attempts with a PIN per session
    pin_limit_address: Limit = field(default_factory=lambda: Limit(20, 900))  # ... per client address
    # Web sign-ins, in this process's memory only (never the site's attempts file): per client address
    # (an IPv6 address counts by its /64), and from all addresses together. Successes are not counted.
    sign_in_limit: Limit = field(default_factory=lambda: Limit(10, 900))
    sign_in_limit_global: Limit = field(default_factory=lambda: Limit(100, 900))
    # Reverse proxies (IP addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto are believed;
    # none by default, so a client cannot choose the address its limits count against.
    trusted_proxies: tuple[str, ...] = ()
    # Host names answered besides the address the server binds to and localhost (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    sign_in_concurrency: int = 2  # passphrase checks (memory-hard) running at once; the rest wait
    upload_max_bytes: int = 8 * 1024 * 1024  # largest QR photo accepted

    def __post_init__(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise InputError(
                    f"A trusted proxy is an IP address or network (like 10.0.0.5 or 10.0.0.0/24), not {proxy!r}."
                ) from None
        hosts = tuple(host_name(h) for h in self.allowed_hosts)
        for host in hosts:
            if not host or any(c in host for c in "/*@ ") or (":" in host and not _is_ip(host)):
                raise InputError(f"An allowed host is a name or address, no port (like clinic.lan), not {host!r}.")
        object.__setattr__(self, "allowed_hosts", hosts)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> WebSettings:
        """Settings from ``environ`` (pass ``os.environ``), with explicit ``overrides`` winning."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"HAVEN_WEB_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _cast(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _cast(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "int":
            return int(raw)
        if kind == "Limit":
            return Limit.parse(raw)
        if kind.startswith("tuple"):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        if kind.startswith("bool"):
            value = raw.strip().lower()
            if value in ("", "auto"):
                return None
            if value in ("1", "true", "yes", "on"):
                return True
            if value in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise InputError(f"HAVEN_WEB_{name.upper()}={raw!r} is not a valid value.") from None
    return raw


def host_name(host: str) -> str:
    """A host as compared: lower case, an IPv6 address without its brackets."""
    host = host.strip().lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
