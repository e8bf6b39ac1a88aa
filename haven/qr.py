"""QR codes: rendering with segno (alphanumeric mode where the text allows), reading photos with zxing-cpp."""

from __future__ import annotations

import io
import warnings

import segno

# Pillow's own decompression-bomb threshold (it warns above it): a bigger photo is refused before it is decoded.
MAX_PHOTO_PIXELS = 1024 * 1024 * 1024 // 4 // 3


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


def read_photo(data: bytes, max_side: int | None = None) -> list[str] | None:
    """The texts of the QR codes in a photo (any format Pillow reads), in the order found.

    None when the bytes are not an image Pillow reads, or are one too large to
    decode safely: a small file can declare billions of pixels (a decompression
    bomb), so the size the header declares is checked before any pixel is
    decoded. ``max_side``: first shrink the photo to fit a square of that side
    (what a phone sends is far larger than a QR code needs).
    """
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PHOTO_PIXELS:
                    return None
                if max_side is not None:
                    image.thumbnail((max_side, max_side))
                found = zxingcpp.read_barcodes(
                    image.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
                )
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    return [str(result.text) for result in found]
