"""The application layer: one :class:`App` per staff member at an unlocked site (haven/app/application.py).

Its modules are loaded when first used, so the site vault can build its domain services
(:mod:`haven.app.clinic`) without loading every use case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haven.app.actions import Action
    from haven.app.application import App

__all__ = ["Action", "App"]


def __getattr__(name: str) -> Any:
    if name == "App":
        from haven.app.application import App

        return App
    if name == "Action":
        from haven.app.actions import Action

        return Action
    raise AttributeError(f"module 'haven.app' has no attribute {name!r}")
