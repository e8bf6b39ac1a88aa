"""What one running app holds: settings, the site, sessions, rate limits and templates."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment

from haven.web.ratelimit import RateLimiter
from haven.web.sessions import SessionStore
from haven.web.settings import WebSettings
from haven.web.site import Site


@dataclass
class AppState:
    settings: WebSettings
    site: Site
    sessions: SessionStore
    limiter: RateLimiter
    templates: Environment
    static_version: str
