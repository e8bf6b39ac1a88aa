"""The one source of the current time: UTC, injected everywhere else as a callable."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    return utc_now().date()
