"""docs/web.md cannot drift: every setting, every API operation and every page route is in it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import FastAPI

from haven.web import WebSettings
from haven.web.app import api_routes

TEXT = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text("utf-8")


def test_every_setting_is_documented() -> None:
    for field in dataclasses.fields(WebSettings):
        assert f"`HAVEN_WEB_{field.name.upper()}`" in TEXT, field.name


def test_every_route_is_documented(app: FastAPI) -> None:
    for route in api_routes(app):
        assert f"`{route.path}" in TEXT or f" {route.path}" in TEXT, route.path
