"""QR codes: rendering with segno (alphanumeric mode where the text allows)."""

from __future__ import annotations

import io

import segno


def make(text: str, error: str = "q") -> segno.QRCode:
    return segno.make_qr(text, error=error, boost_error=False)


def svg(text: str, scale: int = 8, error: str = "q") -> str:
    out = io.BytesIO()
    make(text, error).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


def png(text: str, scale: int = 8, error: str = "q") -> bytes:
    out = io.BytesIO()
    make(text, error).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def version(text: str, error: str = "q") -> int:
    """The QR version (1-40) segno picks for ``text`` at this error correction level."""
    return int(make(text, error).version)


def terminal(text: str) -> str:
    out = io.StringIO()
    make(text, "m").terminal(out=out, compact=True, border=2)
    return out.getvalue()
