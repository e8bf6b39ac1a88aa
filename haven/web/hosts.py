"""The trusted-host check: a request for a host name this server does not answer to is refused (400).

DNS rebinding: a page from ``evil.example`` whose name is then made to resolve to the clinic's
server (or to 127.0.0.1 on the clinic's laptop) is, to the browser, still ``evil.example``, so its
scripts could read the API. The browser still sends ``Host: evil.example``: answering only the
names the clinic uses stops it. An IP address as the host cannot be rebound (the page's origin is
that address), so a server bound to every address (``0.0.0.0``, ``::``) answers any IP address,
and one bound to a single address answers that one; names must be ``localhost``, the bound name,
or configured (``HAVEN_WEB_ALLOWED_HOSTS``, ``haven serve --allowed-host``).

>>> rule = HostRule.of(WebSettings(host="0.0.0.0", allowed_hosts=("clinic.lan",)))
>>> [rule.allows(h) for h in ("clinic.lan:8000", "192.168.1.10:8000", "[::1]:8000", "evil.example", "")]
[True, True, True, False, False]
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from haven.errors import WebError
from haven.web.handlers import http_status
from haven.web.settings import WebSettings, host_name

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
EVERY_ADDRESS = frozenset({"0.0.0.0", "::", ""})
REFUSED = (
    "This server does not answer to that host name; if it is the clinic's name for this server, "
    "add it with haven serve --allowed-host (HAVEN_WEB_ALLOWED_HOSTS)."
)


@dataclass(frozen=True)
class HostRule:
    names: frozenset[str]
    any_address: bool

    @classmethod
    def of(cls, settings: WebSettings) -> HostRule:
        bound = host_name(settings.host)
        every = bound in EVERY_ADDRESS
        names = LOOPBACK | set(settings.allowed_hosts) | (set() if every else {bound})
        return cls(frozenset(names), every)

    def allows(self, header: str) -> bool:
        host = _without_port(header.strip().lower())
        if host in self.names:
            return True
        if not self.any_address:
            return False
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True


def _without_port(header: str) -> str:
    if header.startswith("["):  # [v6]:port
        end = header.find("]")
        return header[1:end] if end > 0 else header
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


class TrustedHosts:
    """Answers 400 (``refused``, reason ``host``) to a request whose Host header the rule refuses."""

    def __init__(self, app: ASGIApp, rule: HostRule) -> None:
        self.app = app
        self.rule = rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if self.rule.allows(host):
            await self.app(scope, receive, send)
            return
        error = WebError(REFUSED, reason="host")
        response: Response
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"error": error.to_dict()}, status_code=http_status(error))
        else:
            response = PlainTextResponse(error.message + "\n", status_code=http_status(error))
        await response(scope, receive, send)
