"""Photos of QR codes, read in one place (haven.qr.read_photo) for the CLI and the web: the same guard in both."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from haven import qr
from haven.certs.image import decode_image
from haven.errors import InputError
from haven.web.cards import decode_photo


def png_declaring(width: int, height: int) -> bytes:
    """A complete, valid PNG of ``width`` x ``height`` white one-bit pixels: a decompression bomb when large.

    Zeros compress about a thousand to one: 400 million pixels take some 50 kB of file,
    and a reader that decoded them would hold 400 MB.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit per pixel, greyscale
    rows = (b"\x00" + bytes(-(-width // 8))) * height  # filter byte 0, then the row's bits
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# 400 million pixels (Pillow itself refuses: DecompressionBombError), and 100 million (Pillow only warns).
BOMBS = {"far past Pillow's limit": (20_000, 20_000), "past Pillow's warning": (10_000, 10_000)}


@pytest.mark.parametrize("size", BOMBS.values(), ids=BOMBS.keys())
def test_a_decompression_bomb_is_refused_before_it_is_decoded(size: tuple[int, int]) -> None:
    assert qr.read_photo(png_declaring(*size)) is None
    assert qr.read_photo(png_declaring(*size), max_side=2000) is None


@pytest.mark.parametrize("size", BOMBS.values(), ids=BOMBS.keys())
def test_the_cli_refuses_a_decompression_bomb_photo(run_cli: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(*size))
    result = run_cli("cert", "verify", "--image", str(bomb))
    assert result.code == 2
    assert result.err.strip() == "haven: The image cannot be read (PNG, JPEG and the other usual formats work)."


@pytest.mark.parametrize("size", BOMBS.values(), ids=BOMBS.keys())
def test_the_web_refuses_a_decompression_bomb_photo(size: tuple[int, int]) -> None:
    with pytest.raises(InputError, match="not a photo Haven can read") as refused:
        decode_photo(png_declaring(*size))
    assert refused.value.details["problem"] == "image"


def test_a_photo_just_within_the_limit_is_read(tmp_path: Path) -> None:
    """The guard refuses sizes, not photos: an ordinary QR photo reads in both, a small empty image reads as no QR."""
    text = "HC1:NCF"
    photo = qr.png(text)
    assert qr.read_photo(photo) == [text]
    assert decode_photo(photo) == text
    assert decode_image(photo) == text
    assert qr.read_photo(png_declaring(64, 64)) == []


def test_what_is_not_an_image_is_refused_alike() -> None:
    assert qr.read_photo(b"not an image") is None
    with pytest.raises(InputError, match="cannot be read"):
        decode_image(b"not an image")
