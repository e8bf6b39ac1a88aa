"""Export: a holder's history as a FHIR R4 International Patient Summary, at their request (docs/export.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.core.card import Card
from haven.core.history import History
from haven.export.fhir import ips_bundle, random_ids
from haven.site.roles import Permission


class Export(Area):
    @use_case(Permission.HISTORY_VIEW, Action.HISTORY_EXPORT)
    def fhir(
        self, card: Card, pin: str | None = None, keep: Callable[[dict[str, Any]], None] | None = None
    ) -> tuple[History, dict[str, Any]]:
        """The history and its FHIR Bundle. ``keep`` gets the bundle before the audit entry commits
        (to write it aside): no export goes unrecorded, and one that cannot be written leaves no entry."""
        with self.change(Action.HISTORY_EXPORT):
            history = self.app.clinic().history(card, pin)
            bundle = ips_bundle(history, self.app.now(), random_ids(self.app.random_bytes))
            if keep is not None:
                keep(bundle)
        return history, bundle
