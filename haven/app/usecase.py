"""How every use case runs: its permission first, then its work and its audit entry in one transaction.

An area (cards, visits, certificates ...) is a small class over the :class:`~haven.app.App`; its use
cases are the methods marked :func:`use_case`. A change runs inside :meth:`Area.change`, whose audit
entry is written inside the change's own write transaction, so both are stored or neither is. A
reading (a history, the audit log) commits nothing to group its entry with: it writes the entry once
it has read, and an entry that cannot be written means no answer.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from haven.app.actions import Action
from haven.errors import StoreFullError
from haven.site.roles import Permission

if TYPE_CHECKING:
    from haven.app.application import App
    from haven.site.site import UnlockedSite

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound="Area")


@dataclass(frozen=True)
class UseCase:
    """What a use case needs (``permission``; None: it checks its own) and the entry it writes (``action``;
    None: it reads nothing kept and stores nothing, so there is nothing to audit)."""

    permission: Permission | None
    action: Action | None


def use_case(
    permission: Permission | None, action: Action | None
) -> Callable[[Callable[Concatenate[A, P], R]], Callable[Concatenate[A, P], R]]:
    """Mark an area's method as a use case; ``permission`` is checked before it runs."""

    def mark(func: Callable[Concatenate[A, P], R]) -> Callable[Concatenate[A, P], R]:
        @functools.wraps(func)
        def run(self: A, *args: P.args, **kwargs: P.kwargs) -> R:
            if permission is not None:
                self.site.require(permission)
            return func(self, *args, **kwargs)

        run.use_case = UseCase(permission, action)  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]  # (functools.wraps keeps the signature)

    return mark


def use_cases(area: object) -> dict[str, UseCase]:
    """The use cases of an area, by method name."""
    found = {name: getattr(type(area), name) for name in dir(type(area)) if not name.startswith("_")}
    return {name: func.use_case for name, func in found.items() if isinstance(getattr(func, "use_case", None), UseCase)}


@dataclass
class Entry:
    """The audit entry a change writes: how many things it covered (1 unless the change says)."""

    count: int = 1


class Area:
    """Use cases of one kind, acting for the App's staff member."""

    def __init__(self, app: App) -> None:
        self.app = app

    @property
    def site(self) -> UnlockedSite:
        return self.app.site

    @contextlib.contextmanager
    def change(self, action: Action) -> Iterator[Entry]:
        """One write transaction for a change and its audit entry (written last, committed with it)."""
        entry = Entry()
        with self.site.store.transaction():
            yield entry
            self.site.record(action, entry.count)

    def viewed(self, action: Action, on_unaudited: Callable[[], None] | None = None) -> None:
        """The audit entry of a reading. ``on_unaudited``: a full disk keeps the entry out but the
        answer is still given (the caller says so to the person); without it, no answer."""
        try:
            self.site.record(action)
        except StoreFullError:
            if on_unaudited is None:
                raise
            on_unaudited()
