"""Images for tests to upload: drawn on the fly, or read from tests/fixtures."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).parents[1] / "fixtures"


def png_bytes(
    width: int = 320, height: int = 240, color: tuple[int, int, int] = (200, 200, 200)
) -> bytes:
    """A small viewport-like image: a grey box with dark edges on a light background."""
    image = Image.new("RGB", (width, height), (235, 238, 240))
    box = (width // 4, height // 3, 3 * width // 4, height - 10)
    image.paste(color, box)
    for offset in range(2):
        x0, y0, x1, y1 = box
        image.paste((20, 20, 20), (x0 - offset, y0, x0 - offset + 1, y1))
        image.paste((20, 20, 20), (x1 + offset, y0, x1 + offset + 1, y1))
        image.paste((20, 20, 20), (x0, y0 - offset, x1, y0 - offset + 1))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
