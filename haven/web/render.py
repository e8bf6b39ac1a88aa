"""Server-rendered pages: Jinja2 templates with the page's language bound in."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from haven.site.roles import Permission, allowed
from haven.web.deps import app_state, current_session
from haven.web.i18n import HTML_LANG, LANG_COOKIE, LOCALES, PUNCTUATION, negotiate, translations
from haven.web.vocab import product_name, word


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("haven.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(word=word, product_name=product_name)
    env.filters["unbroken"] = unbroken
    return env


def static_version() -> str:
    """A short hash of every static file: asset URLs change when any asset does."""
    digest = hashlib.sha256()
    root = resources.files("haven.web").joinpath("static")
    stack = [root]
    while stack:
        node = stack.pop()
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                stack.append(child)
            else:
                digest.update(child.name.encode())
                digest.update(child.read_bytes())
    return digest.hexdigest()[:12]


def request_locale(request: Request) -> str:
    session = current_session(request)
    chosen = request.cookies.get(LANG_COOKIE) or (session.language if session else None)
    return negotiate(chosen, request.headers.get("accept-language"))


def gettext_for(locale: str) -> Callable[..., str]:
    t = translations(locale)

    def _(message: str, **values: Any) -> str:
        text = t.gettext(message)
        if values and any(isinstance(value, Markup) for value in values.values()):
            return Markup(escape(text)) % values  # a page's value already in markup (a date kept whole) stays so
        return text % values if values else text

    return _


@pass_context
def unbroken(context: Context, value: object) -> object:
    """``value`` (a date) on one line where the page's language would split it at a hyphen."""
    if not context["punct"].hold_dates:
        return value
    return Markup('<span class="unbroken">%s</span>') % value


def ngettext_for(locale: str) -> Callable[..., str]:
    """``ngettext(singular, plural, n, **values)``: the form the language uses for ``n`` (Korean, Chinese: one)."""
    t = translations(locale)

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return t.ngettext(singular, plural, n) % {"n": n, **values}

    return ngettext


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    state = app_state(request)
    locale = request_locale(request)
    session = current_session(request)
    staff = session.staff if session else None

    def may(permission: str) -> bool:
        return staff is not None and allowed(staff.roles, Permission(permission))

    html = state.templates.get_template(template).render(
        _=gettext_for(locale),
        ngettext=ngettext_for(locale),
        punct=PUNCTUATION[locale],
        locale=locale,
        html_lang=HTML_LANG[locale],
        locales=LOCALES,
        staff=staff,
        may=may,
        csrf=session.csrf if session else "",
        path=request.url.path,
        v=state.static_version,
        **context,
    )
    return HTMLResponse(html, status_code=status)
