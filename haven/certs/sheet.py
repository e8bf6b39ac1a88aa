"""Printable sheets of one-time certificates: HTML (inline SVG, print CSS), PNG or PDF.

One stub per cut-out box; no names, no facts in words, nothing on a stub but
its QR code. Not even "2/5": a number on a stub would tell a checkpoint how
many codes the holder was given and which one this is.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

from haven import qr
from haven.certs import texts
from haven.errors import InputError

FORMATS = ("html", "png", "pdf")
_CSS = """
@page { size: A4; margin: 10mm; }
body { font-family: sans-serif; margin: 0; }
.about { border-bottom: 1px dashed #000; padding: 4mm; font-size: 10pt; }
.stubs { display: flex; flex-wrap: wrap; }
.stub { width: 60mm; height: 60mm; box-sizing: border-box; border: 1px dashed #000;
        display: flex; flex-direction: column; align-items: center; justify-content: center;
        page-break-inside: avoid; break-inside: avoid; }
.stub svg { width: 54mm; height: 54mm; }
"""


def html_sheet(stubs: Sequence[str]) -> str:
    """A self-contained HTML page: instructions to cut off, then one box per stub."""
    boxes = "\n".join(f'<div class="stub">{qr.svg(s, scale=4)}</div>' for s in stubs)
    about = "".join(f"<p>{html.escape(line)}</p>" for line in texts.INSTRUCTIONS)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(texts.SHEET_TITLE)}</title><style>{_CSS}</style></head>\n"
        f"<body><div class='about'><h1>{html.escape(texts.SHEET_TITLE)}</h1>{about}</div>\n"
        f"<div class='stubs'>\n{boxes}\n</div></body></html>\n"
    )


def _image_sheet(stubs: Sequence[str], kind: str) -> bytes:
    from PIL import Image, ImageDraw

    tiles = [Image.open(io.BytesIO(qr.png(s, scale=6))).convert("L") for s in stubs]
    tile = max(max(t.size) for t in tiles)
    cols = 3
    rows = (len(tiles) + cols - 1) // cols
    pad = 30
    sheet = Image.new("L", (cols * (tile + pad), rows * (tile + pad)), 255)
    draw = ImageDraw.Draw(sheet)
    for i, t in enumerate(tiles):
        x, y = (i % cols) * (tile + pad), (i // cols) * (tile + pad)
        sheet.paste(t, (x + pad // 2, y + pad // 2))
        draw.rectangle((x, y, x + tile + pad - 1, y + tile + pad - 1), outline=128)  # where to cut
    out = io.BytesIO()
    sheet.save(out, format="PDF" if kind == "pdf" else "PNG", resolution=150)
    return out.getvalue()


def render(stubs: Sequence[str], kind: str) -> bytes:
    """The sheet in ``kind`` (html, png or pdf)."""
    if kind == "html":
        return html_sheet(stubs).encode("utf-8")
    if kind in ("png", "pdf"):
        return _image_sheet(stubs, kind)
    raise InputError(f"A sheet is one of: {', '.join(FORMATS)}.")
