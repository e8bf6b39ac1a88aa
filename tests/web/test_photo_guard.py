"""The photo upload that opens a card refuses a decompression bomb, as ``haven cert verify --image`` does."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.certs.test_image import BOMBS, png_declaring
from tests.web.test_pages import page_sign_in


def test_a_decompression_bomb_uploaded_to_open_a_card_is_refused(client: TestClient) -> None:
    token = page_sign_in(client, "registrar")
    for width, height in BOMBS.values():
        photo = png_declaring(width, height)
        assert len(photo) < 100_000  # well within the upload limit: only the pixels it declares are the problem
        r = client.post(
            "/cards/open-photo", data={"csrf_token": token}, files={"photo": ("card.png", photo, "image/png")}
        )
        assert r.status_code == 400 and "This file is not a photo that can be read." in r.text
