"""Server-side sessions: a random id in a cookie, everything else in this process's memory.

A session holds the CSRF token, the signed-in staff member (and the site
generation they signed in to: a lock, a duress sign-in or a panic ends every
session of an older generation; and the key slot their passphrase opened:
removing them or resetting their passphrase rewrites it, which ends the
session), the language and at most one open card.
The open card (its secret and the PIN, if any) lives here only: never in a
cookie, a URL or a log line. It closes itself after
``card_idle_s`` unused, the session after ``session_idle_s``; restarting the
server ends every session and closes every card.

>>> now = [0.0]
>>> store = BrowserSessions(idle_s=60, card_idle_s=10, max_sessions=10, clock=lambda: now[0])
>>> s = store.create()
>>> store.get(s.id) is s
True
>>> now[0] = 61.0
>>> store.get(s.id) is None
True
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from haven.core.card import Card
from haven.site.staff import StaffMember


@dataclass
class OpenCard:
    """A card open in a session: what staff may act on until it is closed."""

    card: Card = field(repr=False)
    pin: str | None = field(repr=False)
    has_records: bool
    new: bool  # made in this session: its first visit starts its history without asking
    last_used: float


@dataclass
class BrowserSession:
    id: str = field(repr=False)
    csrf: str = field(repr=False)
    last_seen: float
    staff: StaffMember | None = None
    generation: int = -1  # the site generation the staff member signed in to
    slot: tuple[int, bytes] | None = field(default=None, repr=False)  # the key slot they signed in with
    language: str | None = None
    flash: str | None = None  # a msgid shown once on the next page (e.g. "Visit recorded.")
    _card: OpenCard | None = field(default=None, repr=False)

    def take_flash(self) -> str | None:
        message, self.flash = self.flash, None
        return message

    def check_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())


class BrowserSessions:
    """Sessions by id, dropped after ``idle_s`` unused (oldest first beyond ``max_sessions``)."""

    def __init__(
        self,
        idle_s: int,
        card_idle_s: int,
        max_sessions: int,
        clock: Callable[[], float],
    ) -> None:
        self.idle_s = idle_s
        self.card_idle_s = card_idle_s
        self.max_sessions = max_sessions
        self.clock = clock
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self) -> BrowserSession:
        now = self.clock()
        session = BrowserSession(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), last_seen=now)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.max_sessions:
                self._evict_one()
        return session

    def _evict_one(self) -> None:
        # The least recently used signed-out session goes first, so a flood of anonymous
        # visits cannot push signed-in staff out; failing that, the least recently used one.
        victim = next((sid for sid, s in self._sessions.items() if s.staff is None), None)
        if victim is None:
            victim = next(iter(self._sessions))
        self._sessions.pop(victim)._card = None

    def get(self, session_id: str | None) -> BrowserSession | None:
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_s:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

    def rotate(self, session: BrowserSession) -> BrowserSession:
        """A fresh id and CSRF token for ``session`` (on sign-in: no fixation), keeping its language."""
        fresh = self.create()
        fresh.language = session.language
        self.drop(session)
        return fresh

    def sign_out(self, session: BrowserSession) -> None:
        """Forget the staff member and the open card of ``session`` (it stays, signed out)."""
        session._card = None
        session.staff = session.slot = None

    def drop(self, session: BrowserSession) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        session._card = None
        session.staff = session.slot = None

    def sign_out_all(self) -> None:
        """Sign every session out and close every open card (the site locked): languages stay."""
        with self._lock:
            for session in self._sessions.values():
                session._card = None
                session.staff = session.slot = None

    def any_signed_in(self) -> bool:
        """Whether a session not yet idle past ``idle_s`` has a staff member signed in."""
        now = self.clock()
        with self._lock:
            return any(s.staff is not None and now - s.last_seen <= self.idle_s for s in self._sessions.values())

    def clear(self) -> None:
        """End every session (the server is stopping)."""
        with self._lock:
            for session in self._sessions.values():
                session._card = None
                session.staff = session.slot = None
            self._sessions.clear()

    def sweep(self) -> int:
        """Drop every idle session now; returns how many."""
        now = self.clock()
        with self._lock:
            stale = [sid for sid, s in self._sessions.items() if now - s.last_seen > self.idle_s]
            for sid in stale:
                session = self._sessions.pop(sid)
                session._card = None
        return len(stale)

    # ------------------------------------------------------------ the open card

    def card(self, session: BrowserSession) -> OpenCard | None:
        """The session's open card, or None (closing it if it sat unused past ``card_idle_s``)."""
        open_card = session._card
        if open_card is None:
            return None
        now = self.clock()
        if now - open_card.last_used > self.card_idle_s:
            session._card = None
            return None
        open_card.last_used = now
        return open_card

    def open_card(
        self, session: BrowserSession, card: Card, pin: str | None, has_records: bool, new: bool = False
    ) -> OpenCard:
        session._card = OpenCard(card, pin, has_records, new, self.clock())
        return session._card

    def close_card(self, session: BrowserSession) -> None:
        session._card = None
