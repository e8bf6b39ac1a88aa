"""Two pure ASGI middlewares: security headers on every response, and the session cookie.

The session middleware reads the ``haven_session`` cookie, finds the
server-side session and leaves it in ``scope["state"]``; when a route creates,
rotates or ends a session, it writes or clears the cookie on the way out.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haven.web.sessions import BrowserSession, BrowserSessions

SESSION_COOKIE = "haven_session"

# No inline script or style anywhere, nothing from another host, no framing.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=(), usb=()"),
]


class SecurityHeaders:
    """Adds the security headers; pages and the API are never cached (static files may be)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if not path.startswith("/static/") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SessionCookie:
    """Finds the request's server-side session and keeps the cookie in step with it."""

    def __init__(self, app: ASGIApp, sessions: BrowserSessions, secure: Callable[[Scope], bool]) -> None:
        self.app = app
        self.sessions = sessions
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        sid = _cookie(scope, SESSION_COOKIE)
        session = self.sessions.get(sid)
        state["session"] = session
        state["session_cookie"] = None  # a route sets it to ("set", session) or ("clear", None)
        had_cookie = sid is not None

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                action = state.get("session_cookie")
                current: BrowserSession | None = state.get("session")
                header = None
                if action == "set" and current is not None:
                    header = self._cookie(current.id, scope)
                elif action == "clear" or (had_cookie and session is None and current is None):
                    header = self._cookie("", scope, max_age=0)
                if header:
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", header.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, value: str, scope: Scope, max_age: int | None = None) -> str:
        parts = [f"{SESSION_COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if self.secure(scope):
            parts.append("Secure")
        return "; ".join(parts)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return None
            if name in jar:
                return jar[name].value
    return None
