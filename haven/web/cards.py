"""Opening cards from words, a code or a photo of the QR, under the rate limits.

Shared by the pages and the JSON API, so both count attempts the same way.
Nothing here logs or returns the card's secret.
"""

from __future__ import annotations

from haven import qr
from haven.core.card import parse_card
from haven.core.keys import normalise_pin
from haven.errors import AuthError, CardError, InputError
from haven.web.sessions import BrowserSession, OpenCard
from haven.web.state import AppState

PHOTO_MAX_SIDE = 2000  # pixels: plenty for a card's QR code, and bounded work per upload


def count_attempt(state: AppState, session: BrowserSession, address: str, with_pin: bool) -> None:
    """Count one card-open attempt (and one PIN attempt); refuse it past the limits."""
    s, limiter = state.settings, state.limiter
    if with_pin:
        limiter.check("pin", session.id, s.pin_limit, "PIN attempts")
        limiter.check("pin-address", address, s.pin_limit_address, "PIN attempts")
    limiter.hit("card", session.id, s.card_limit, "card attempts")
    limiter.hit("card-address", address, s.card_limit_address, "card attempts")
    if with_pin:
        limiter.hit("pin", session.id, s.pin_limit, "PIN attempts")
        limiter.hit("pin-address", address, s.pin_limit_address, "PIN attempts")


def clean_pin(pin: str | None) -> str | None:
    if pin is None or not pin.strip():
        return None
    normalise_pin(pin)
    return pin


def open_card(
    state: AppState, session: BrowserSession, address: str, text: str, pin: str | None, counted: bool = False
) -> OpenCard:
    """Parse the card, check the PIN's form, and open it in ``session`` (counted and limited,
    unless the caller ``counted`` the attempt already)."""
    pin = pin if pin and pin.strip() else None
    if not counted:
        count_attempt(state, session, address, pin is not None)
    card = parse_card(text)
    pin = clean_pin(pin)
    if session.staff is None:  # the routes' staff dependency signed this session in
        raise AuthError()
    has_records = state.site.app(session.staff).cards.has_records(card, pin)
    return state.sessions.open_card(session, card, pin, has_records)


def decode_photo(data: bytes) -> str:
    """The text of the first QR code in a photo (any format Pillow reads); :class:`CardError` if none."""
    found = qr.read_photo(data, max_side=PHOTO_MAX_SIDE)
    if found is None:
        raise InputError("This file is not a photo Haven can read.", problem="image")
    if not found:
        raise CardError("No QR code was found in this photo. Take it closer, flat and in good light.", problem="no-qr")
    return found[0]
