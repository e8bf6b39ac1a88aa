"""Cards: a new one (nothing is stored until its first visit), and whether one has records here."""

from __future__ import annotations

from haven.app.usecase import Area, use_case
from haven.core.card import Card
from haven.site.roles import Permission


class Cards(Area):
    @use_case(Permission.CARD_NEW, None)
    def new(self, language: str = "en") -> Card:
        """A fresh card. Nothing is stored: the card exists once its first visit is recorded."""
        return self.app.clinic().new_card(language)

    @use_case(Permission.VISIT_ADD, None)
    def has_records(self, card: Card, pin: str | None = None) -> bool:
        """Whether this card (with this PIN) has any record here; nothing is opened, nothing kept."""
        return self.app.clinic().has_records(card, pin)
