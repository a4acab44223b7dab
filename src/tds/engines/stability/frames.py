"""The picture each Stability endpoint is sent, within its documented limits, and the way
back from the provider's answer to exactly the job's size.

The control endpoints answer at the size they are sent, so they get the job's own size (within
9,437,184 px); inpaint and the upscalers answer at sizes of their own (4 MP; 4× the input), and
`hosted.output_image` brings any answer to the job's size. Control and the conservative upscaler
take aspect ratios between 1:2.5 and 2.5:1 only: a wider picture is padded to 2.5:1 with its
mean colour, and the padding is cropped off the answer again, so nothing is ever stretched.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageStat

from tds.engines.base import EngineError
from tds.engines.common import hosted
from tds.engines.common.images import quick_resize

# The whole request must stay under Stability's 10 MiB; the image gets most of it.
MAX_IMAGE_BYTES = 9 * 1024 * 1024
JPEG_QUALITIES = (95, 88, 80, 70)


@dataclass(frozen=True)
class Limits:
    """An endpoint's validation rules for its `image` (from its API reference)."""

    max_pixels: int
    min_side: int
    max_side: int | None = None
    max_aspect: float | None = None  # long side over short side


CONTROL = Limits(max_pixels=9_437_184, min_side=64, max_aspect=2.5)  # structure, sketch
INPAINT = Limits(max_pixels=9_437_184, min_side=64)
CONSERVATIVE = Limits(max_pixels=1_048_576, min_side=64, max_aspect=2.5)  # "64² to 1 MP" in
FAST = Limits(max_pixels=1_048_576, min_side=32, max_side=1536)


@dataclass(frozen=True)
class Frame:
    """The job's picture in a canvas (the same, or padded to an allowed aspect ratio) at the
    job's scale, and the size the canvas is sent at."""

    canvas: tuple[int, int]
    box: tuple[int, int, int, int]  # the job's picture within the canvas
    sent: tuple[int, int]

    @property
    def padded(self) -> bool:
        return self.box != (0, 0, *self.canvas)

    def picture(self, image: Image.Image) -> Image.Image:
        """`image` as sent: resized to the frame, on its padding when there is any."""
        if not self.padded:
            return quick_resize(image, self.sent)
        sx, sy = self.sent[0] / self.canvas[0], self.sent[1] / self.canvas[1]
        left, top, right, bottom = self.box
        inner = (round(left * sx), round(top * sy), round(right * sx), round(bottom * sy))
        fill = tuple(round(value) for value in ImageStat.Stat(image.convert("RGB")).mean)
        canvas = Image.new("RGB", self.sent, fill)
        size = (max(1, inner[2] - inner[0]), max(1, inner[3] - inner[1]))
        canvas.paste(quick_resize(image, size), inner[:2])
        return canvas

    def output(self, data: bytes) -> Image.Image:
        """The provider's bytes as the job's image: decoded, sized, the padding cropped off."""
        image = hosted.output_image(data, *self.canvas)
        return image.crop(self.box) if self.padded else image


def frame(width: int, height: int, limits: Limits, source: tuple[int, int] | None = None) -> Frame:
    """The frame for a job of width × height; `source` (the input's size) sets the scale sent
    instead of the job's (an upscaler is sent its input, not the size it should reach)."""
    canvas, box = _pad(width, height, limits.max_aspect)
    scale = 1.0 if source is None else max(source[0] / width, source[1] / height)
    wanted = (canvas[0] * scale, canvas[1] * scale)
    return Frame(canvas=canvas, box=box, sent=_fit(wanted, limits))


def _pad(
    width: int, height: int, max_aspect: float | None
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    if max_aspect is not None and width > height * max_aspect:
        tall = math.ceil(width / max_aspect)
        top = (tall - height) // 2
        return (width, tall), (0, top, width, top + height)
    if max_aspect is not None and height > width * max_aspect:
        wide = math.ceil(height / max_aspect)
        left = (wide - width) // 2
        return (wide, height), (left, 0, left + width, height)
    return (width, height), (0, 0, width, height)


def _fit(size: tuple[float, float], limits: Limits) -> tuple[int, int]:
    """`size` scaled to the limits: at most max_pixels and max_side, at least min_side."""
    width, height = size
    scale = min(1.0, math.sqrt(limits.max_pixels / (width * height)))
    if limits.max_side is not None:
        scale = min(scale, limits.max_side / max(width, height))
    scale = max(scale, limits.min_side / min(width, height))
    return (
        max(limits.min_side, math.floor(width * scale)),
        max(limits.min_side, math.floor(height * scale)),
    )


def encode(image: Image.Image) -> bytes:
    """JPEG (4:4:4), as good as fits within MAX_IMAGE_BYTES."""
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=quality, subsampling=0)
        if buffer.tell() <= MAX_IMAGE_BYTES:
            return buffer.getvalue()
    raise EngineError("the image does not fit Stability AI's 10 MiB request limit")


def encode_mask(mask: Image.Image) -> bytes:
    buffer = io.BytesIO()
    mask.convert("L").save(buffer, "PNG")
    return buffer.getvalue()
