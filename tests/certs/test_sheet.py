"""The printed sheet: a stub (the part the holder carries and shows) holds its QR code and nothing else.

A stub numbered "2/5" would tell a checkpoint how many codes the holder was given and which one this is.
"""

from __future__ import annotations

import io
import re

from PIL import Image

from haven.certs import sheet
from tests.certkit import network

SITE = network(seed=11)
STUBS = SITE.certs.issue(SITE.holder(), count=5)
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def stub_boxes(page: str) -> list[str]:
    return re.findall(r'<div class="stub"[^>]*>(.*?)</div>', page, re.S)


def test_each_html_stub_holds_only_its_qr_code() -> None:
    page = sheet.render(STUBS, "html").decode("utf-8")
    boxes = stub_boxes(page)
    assert len(boxes) == len(STUBS)
    assert [SVG.sub("", box).strip() for box in boxes] == [""] * len(STUBS)
    assert all(len(SVG.findall(box)) == 1 for box in boxes)
    for n in range(1, len(STUBS) + 1):
        assert f"{n}/{len(STUBS)}" not in page and f"{n} of {len(STUBS)}" not in page


def test_image_sheets_draw_no_text_beside_the_codes() -> None:
    """Only QR modules (black, white) and the grey cut lines: a drawn label would add other greys."""
    image = Image.open(io.BytesIO(sheet.render(STUBS, "png")))
    assert image.mode == "L"
    assert {value for _, value in image.getcolors(256) or []} == {0, 128, 255}
    assert sheet.render(STUBS, "pdf").startswith(b"%PDF")
