"""The storage seam holds: SQL only inside haven/store/, and the site sees only the Store protocol."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from haven.site.site import UnlockedSite
from haven.store.base import Store
from haven.web.site import WebSite

HAVEN = Path(__file__).resolve().parents[2] / "haven"
SQL = re.compile(r"\b(SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET|CREATE TABLE|DROP TABLE)\b|\.execute\(|\.query\(")


def test_sql_lives_only_inside_haven_store() -> None:
    found = [
        f"{path.relative_to(HAVEN)}:{n}"
        for path in HAVEN.rglob("*.py")
        if "store" not in path.relative_to(HAVEN).parts[:1]
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if SQL.search(line)
    ]
    assert found == []


def test_the_site_and_the_web_server_hold_the_store_as_the_protocol() -> None:
    assert typing.get_type_hints(UnlockedSite)["store"] is Store
    assert typing.get_type_hints(WebSite.store.fget)["return"] is Store  # type: ignore[attr-defined]
