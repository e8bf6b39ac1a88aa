"""Visits: recording one, importing many, and reading a holder's history."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from haven.app.actions import Action
from haven.app.clinic import AddedVisit, Corrected
from haven.app.lots import load_register
from haven.app.usecase import Area, use_case
from haven.core.card import Card
from haven.core.checks import Prior, confirm_reason
from haven.core.corrections import AMEND, VOID
from haven.core.history import History
from haven.core.schedule import DoseDue
from haven.hub.pull import pull_first
from haven.site.roles import Permission, allowed


class Visits(Area):
    @use_case(Permission.VISIT_ADD, Action.VISIT_ADD)
    def add(
        self, card: Card, doc: Any, pin: str | None = None, first_visit: bool = False, confirm: str | None = None
    ) -> AddedVisit:
        """Record one visit, whole or not at all (see :meth:`haven.app.clinic.Clinic.add_visit`); first,
        a pull from the site's hub if it remembers one (haven/hub/pull.py), whose outcome the result carries.

        The checks before saving (haven/core/checks.py) see the whole history for staff who may read
        it, only the doses due for the others; a visit they warn about raises
        :class:`~haven.errors.ChecksNeedConfirmationError` and is stored only with a ``confirm`` reason.
        """
        reason = confirm_reason(confirm)
        reads = allowed(self.app.member.roles, Permission.HISTORY_VIEW)
        pulled = pull_first(self.site)
        with self.change(Action.VISIT_ADD):
            added = self.app.clinic().add_visit(
                card,
                doc,
                pin=pin,
                first_visit=first_visit,
                checks=Prior.of_history if reads else Prior.of_next_due,
                confirm=reason,
                register=load_register(self.site.store),
            )
        return added if pulled is None else dataclasses.replace(added, hub=pulled)

    @use_case(Permission.VISIT_IMPORT, Action.VISIT_IMPORT)
    def import_visits(
        self,
        items: Iterable[tuple[Card, Any, str | None]],
        batch: int = 2000,
        progress: Callable[[int], None] | None = None,
        workers: int = 0,
        checkpoint: Callable[[int], None] | None = None,
    ) -> int:
        """Bulk-record visits, one audit entry per committed batch, in the batch's own transaction
        (see :meth:`haven.app.clinic.Clinic.import_visits`)."""
        return self.app.clinic().import_visits(
            items,
            batch=batch,
            progress=progress,
            workers=workers,
            audit=lambda count: self.site.record(Action.VISIT_IMPORT, count),
            checkpoint=checkpoint,
        )

    @use_case(Permission.VISIT_CORRECT, Action.VISIT_CORRECT)
    def correct(self, card: Card, entry: str, doc: Any, reason: str | None = None, pin: str | None = None) -> Corrected:
        """Amend the entry ``entry`` names (``<index>.<record>.<position>``, as the history shows it) to
        ``doc``, a whole entry of the same type validated as a new one: a new sealed record of the holder's
        (docs/entries.md, "Corrections")."""
        with self.change(Action.VISIT_CORRECT):
            return self.app.clinic().correct(card, entry, AMEND, doc, reason, pin=pin)

    @use_case(Permission.VISIT_CORRECT, Action.VISIT_VOID)
    def void(self, card: Card, entry: str, reason: str, pin: str | None = None) -> Corrected:
        """Void the entry ``entry`` names, saying why: it stays in the history, shown as voided, and no longer
        counts for doses due, certificates or exports."""
        with self.change(Action.VISIT_VOID):
            return self.app.clinic().correct(card, entry, VOID, None, reason, pin=pin)

    @use_case(Permission.HISTORY_VIEW, Action.HISTORY_VIEW)
    def history(self, card: Card, pin: str | None = None, on_unaudited: Callable[[], None] | None = None) -> History:
        """The holder's whole history; :class:`~haven.errors.NoRecordsError` if there is none.

        ``on_unaudited``: on a full disk the reading is not in the log, and the doses due still show.
        """
        history = self.app.clinic().history(card, pin)
        self.viewed(Action.HISTORY_VIEW, on_unaudited)
        return history

    @use_case(Permission.SCHEDULE_VIEW, Action.SCHEDULE_VIEW)
    def next_due(
        self, card: Card, pin: str | None = None, on_unaudited: Callable[[], None] | None = None
    ) -> tuple[DoseDue, ...]:
        """Only the doses due next (for staff who record doses but may not read the history);
        :class:`~haven.errors.NoRecordsError` if the card has no records here."""
        due = self.app.clinic().history(card, pin).next_due
        self.viewed(Action.SCHEDULE_VIEW, on_unaudited)
        return due
