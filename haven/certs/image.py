"""Reading a certificate from a photo of its QR code (the photo itself is read by :func:`haven.qr.read_photo`)."""

from __future__ import annotations

from haven import qr
from haven.errors import InputError, MalformedCertificate


def decode_image(data: bytes) -> str:
    """The certificate text in a photo: one QR code, or the chunks of one SMART Health Card.

    Several ``shc:/i/n/`` chunks in one photo come back in order, separated by
    spaces, which is the form ``haven cert verify`` reads.
    """
    found = qr.read_photo(data)
    if found is None:
        raise InputError("The image cannot be read (PNG, JPEG and the other usual formats work).")
    texts = [text for text in found if text]
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
