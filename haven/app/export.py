"""Export: a holder's history as a FHIR R4 International Patient Summary, at their request (docs/export.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haven.app.actions import Action
from haven.app.usecase import Area, use_case
from haven.core.card import Card
from haven.core.history import History
from haven.errors import InputError
from haven.export.ddcc import ddcc_bundle
from haven.export.fhir import ips_bundle, random_ids
from haven.site.roles import Permission


class Export(Area):
    @use_case(Permission.HISTORY_VIEW, Action.HISTORY_EXPORT)
    def fhir(
        self,
        card: Card,
        pin: str | None = None,
        profile: str = "ips",
        keep: Callable[[dict[str, Any]], None] | None = None,
    ) -> tuple[History, dict[str, Any]]:
        """The history and its FHIR Bundle (``profile``: ``ips``, or ``ddcc`` for WHO DDCC). ``keep`` gets
        the bundle before the audit entry commits (to write it aside): no export goes unrecorded, and
        one that cannot be written leaves no entry."""
        with self.change(Action.HISTORY_EXPORT):
            history = self.app.clinic().history(card, pin)
            make = ddcc_bundle if profile == "ddcc" else ips_bundle
            bundle = make(history, self.app.now(), random_ids(self.app.random_bytes))
            if profile == "ddcc" and not bundle["entry"]:
                raise InputError(
                    "This history has no COVID-19 vaccination or test: there is no DDCC document to write."
                )
            if keep is not None:
                keep(bundle)
        return history, bundle
