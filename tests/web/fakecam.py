"""Chromium's fake camera: a Y4M video of a still image (a QR code), for scanner tests.

Chromium plays ``--use-file-for-fake-video-capture=FILE.y4m`` in a loop as the
camera when started with ``--use-fake-device-for-media-stream``.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def y4m_from_image(image: Image.Image, path: Path, width: int = 640, height: int = 480, frames: int = 10) -> Path:
    """Write ``image`` centred on a white ``width`` x ``height`` frame as a grey Y4M video (4:2:0)."""
    frame = Image.new("L", (width, height), 255)
    picture = image.convert("L")
    picture.thumbnail((height - 40, height - 40))
    frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(luma)
            out.write(chroma)
            out.write(chroma)
    return path


def y4m_from_png(png: bytes, path: Path) -> Path:
    """A Y4M fake-camera file showing the PNG (a QR code from :func:`haven.qr.png`)."""
    with Image.open(io.BytesIO(png)) as image:
        return y4m_from_image(image, path)
