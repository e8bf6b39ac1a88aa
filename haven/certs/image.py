"""Reading certificates from photos of QR codes (zxing-cpp)."""

from __future__ import annotations

import io

from haven.errors import InputError, MalformedCertificate


def decode_image(data: bytes) -> str:
    """The certificate text in a photo: one QR code, or the chunks of one SMART Health Card.

    Several ``shc:/i/n/`` chunks in one photo come back in order, separated by
    spaces, which is the form ``haven cert verify`` reads.
    """
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise InputError("The image cannot be read (PNG, JPEG and the other usual formats work).") from None
    texts = [r.text for r in zxingcpp.read_barcodes(image) if r.text and r.format == zxingcpp.BarcodeFormat.QRCode]
    if not texts:
        raise MalformedCertificate("No QR code could be read in the image.")
    if len(texts) > 1 and all(t.startswith("shc:/") for t in texts):

        def index(text: str) -> int:
            head = text[5:].split("/")
            return int(head[0]) if len(head) > 2 and head[0].isdigit() else 0

        return " ".join(sorted(texts, key=index))
    if len(texts) > 1:
        raise InputError("The image holds several QR codes: photograph one certificate at a time.")
    return texts[0]
