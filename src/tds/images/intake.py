"""Validate an uploaded image and re-encode it without anything but pixels.

Only PNG, JPEG and WebP are ever opened (`Image.open(..., formats=...)`), so Pillow's riskier
plugins (EPS → Ghostscript, FITS, TIFF, ...) never see user bytes. The declared size is checked
before any pixel is decoded, the image is decoded with `load()` (which, unlike `verify()`, catches
truncated files), its EXIF orientation is applied, it is converted to RGB, and it is written into a
brand-new image and re-encoded: no EXIF, ICC profile, text chunk, JPEG comment or trailing bytes
(polyglot payloads) survive. Every failure is an `InvalidImage` or `PayloadTooLarge` whose message
tells the user what to change; no Pillow exception escapes.

`clean_image` is CPU-bound and may hold several copies of the decoded image (3 bytes per pixel
each): call it from a worker thread and cap how many run at once.
"""

from __future__ import annotations

import base64
import binascii
import logging
import warnings
from dataclasses import dataclass
from io import BytesIO
from typing import Final, Literal

import anyio
import anyio.to_thread
import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from tds.exceptions import InvalidImage, PayloadTooLarge

log = logging.getLogger("tds.images")

ALLOWED_FORMATS: Final = ("PNG", "JPEG", "WEBP")
MIN_SIDE: Final = 16
MAX_ASPECT_RATIO: Final = 10
JPEG_QUALITY: Final = 95

UNSUPPORTED_FORMAT: Final = "Unsupported image format: send PNG, JPEG or WebP."

_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
)
_WHITE: Final = (255, 255, 255)


@dataclass(frozen=True)
class CleanImage:
    """A validated image: `data` is the re-encoded file, `image` the same pixels, decoded."""

    data: bytes
    content_type: Literal["image/png", "image/jpeg"]
    extension: Literal["png", "jpg"]
    width: int
    height: int
    image: Image.Image  # mode "RGB", loaded, no `info` metadata


def _format_mb(max_bytes: int) -> str:
    mb = max_bytes / (1024 * 1024)
    if mb >= 1:
        return f"{mb:.2f}".rstrip("0").rstrip(".")
    return f"{mb:.2g}"


def _too_large(max_bytes: int, param: str | None = None) -> PayloadTooLarge:
    message = (
        f"The image is larger than the {_format_mb(max_bytes)} MB limit. Send a smaller or more "
        "compressed image."
    )
    return PayloadTooLarge(message, param=param) if param else PayloadTooLarge(message)


def decode_base64(value: str, *, max_bytes: int) -> bytes:
    """Decode `image_base64`: plain base64 or a `data:<type>;base64,<data>` URI.

    Whitespace and line breaks are ignored. The decoded size is estimated from the length of the
    text and checked before anything is decoded.
    """
    if not isinstance(value, str):
        raise InvalidImage("image_base64 must be a string.", param="image_base64")
    text = value.strip()
    if text[:5].lower() == "data:":
        header, comma, text = text.partition(",")
        if not comma:
            raise InvalidImage(
                "image_base64 is a data URI without a ',': use 'data:image/png;base64,<data>'.",
                param="image_base64",
            )
        if not header.lower().replace(" ", "").endswith(";base64"):
            raise InvalidImage(
                "image_base64 data URIs must be base64-encoded: "
                "use 'data:image/png;base64,<data>'.",
                param="image_base64",
            )
    # Cheap bound first (no copy): even with a line break every 2 characters the text could not
    # decode to fewer bytes than this.
    if len(text) // 2 * 3 // 4 > max_bytes + 3:
        raise _too_large(max_bytes, param="image_base64")
    compact = "".join(text.split())
    if not compact:
        raise InvalidImage("image_base64 is empty.", param="image_base64")
    padding = len(compact) - len(compact.rstrip("="))
    if len(compact) * 3 // 4 - padding > max_bytes:
        raise _too_large(max_bytes, param="image_base64")
    if len(compact) % 4 in (2, 3) and padding == 0:
        compact += "=" * (-len(compact) % 4)  # tolerate stripped padding
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage(
            "image_base64 is not valid base64: use the standard alphabet (A-Z, a-z, 0-9, '+', "
            "'/', '=' padding), optionally as a 'data:image/png;base64,' URI.",
            param="image_base64",
        ) from None


def _sniff(data: bytes) -> str | None:
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Header-only parse (no decoding, no bomb check), used only to word the pixel-limit error."""
    for cls in (
        PngImagePlugin.PngImageFile,
        JpegImagePlugin.JpegImageFile,
        WebPImagePlugin.WebPImageFile,
    ):
        try:
            with cls(BytesIO(data)) as im:
                return im.size
        except Exception:
            continue
    return None


def _pixel_limit_error(size: tuple[int, int] | None, max_pixels: int) -> InvalidImage:
    if size is None:
        what = "The image has more pixels than"
    else:
        w, h = size
        what = f"The image is {w}×{h} = {w * h:,} pixels, more than"
    return InvalidImage(f"{what} the limit of {max_pixels:,} pixels. Downscale it and try again.")


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        # Pillow warns above Image.MAX_IMAGE_PIXELS and raises only at twice that: make the
        # warning an error here. (catch_warnings is process-wide; a concurrent thread can at worst
        # see the stricter filter, and the explicit pixel check below does not depend on it.)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _pixel_limit_error(_declared_size(data), max_pixels) from None
    except Exception as exc:  # UnidentifiedImageError, or a plugin choking on a broken header
        log.info("image open failed: %s: %s", type(exc).__name__, exc)
        sniffed = _sniff(data)
        if sniffed is None:
            raise InvalidImage(UNSUPPORTED_FORMAT) from None
        raise InvalidImage(
            f"The {sniffed} file is corrupt and could not be read. Re-export it and try again."
        ) from None


def _check_geometry(im: Image.Image, max_pixels: int) -> None:
    w, h = im.size
    if w * h > max_pixels:
        raise _pixel_limit_error((w, h), max_pixels)
    if min(w, h) < MIN_SIDE:
        raise InvalidImage(
            f"The image is {w}×{h} pixels; each side must be at least {MIN_SIDE} pixels."
        )
    if max(w, h) > MAX_ASPECT_RATIO * min(w, h):
        raise InvalidImage(
            f"The image is {w}×{h} pixels; its aspect ratio must be at most "
            f"{MAX_ASPECT_RATIO}:1. Crop it and try again."
        )


def _frame_count(im: Image.Image) -> int:
    if im.format == "MPO":
        # A JPEG with extra pictures (stereo pair, gain map) from a phone: the first is the photo.
        return 1
    return int(getattr(im, "n_frames", 1))


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "F") or mode.startswith("I;16"):
        # 16-bit (or 32-bit) grayscale: scale to 8 bits rather than clip at 255.
        arr = np.asarray(im)
        if arr.dtype.kind == "f":
            arr8 = np.clip(arr, 0, 255).astype(np.uint8)
        else:
            arr8 = (np.clip(arr.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
        if mode == "RGB":
            return im
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")  # L, 1, CMYK, YCbCr


def _encode(im: Image.Image, as_jpeg: bool) -> bytes:
    out = BytesIO()
    if as_jpeg:
        im.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        im.save(out, "PNG", compress_level=1)
    return out.getvalue()


def clean_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CleanImage:
    """Validate `data` and re-encode it: JPEG stays JPEG (quality 95), the rest becomes PNG."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidImage("The image must be sent as binary data.")
    data = bytes(data)
    if not data:
        raise InvalidImage("The image is empty.")
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return _clean(data, max_pixels)
    except (InvalidImage, PayloadTooLarge):
        raise
    except Exception as exc:  # anything Pillow or numpy raised that the steps did not word
        log.info("image rejected: %s: %s", type(exc).__name__, exc)
        raise InvalidImage(
            "The image could not be read; it may be corrupt. Re-export it as PNG, JPEG or WebP."
        ) from None


def _clean(data: bytes, max_pixels: int) -> CleanImage:
    clean, as_jpeg = _decode(data, max_pixels)
    try:
        encoded = _encode(clean, as_jpeg=as_jpeg)
    except Exception as exc:
        log.info("image encoding failed: %s: %s", type(exc).__name__, exc)
        raise InvalidImage(
            "The image could not be re-encoded; re-export it as PNG or JPEG."
        ) from None
    if as_jpeg:
        return CleanImage(encoded, "image/jpeg", "jpg", clean.width, clean.height, clean)
    return CleanImage(encoded, "image/png", "png", clean.width, clean.height, clean)


def _decode(data: bytes, max_pixels: int) -> tuple[Image.Image, bool]:
    """The pixels in a brand-new RGB image (no `info`: EXIF, ICC, text, comment), and whether
    the file was a JPEG."""
    with _open(data, max_pixels) as im:
        _check_geometry(im, max_pixels)
        if _frame_count(im) > 1:
            raise InvalidImage("Animated images are not supported: send a single still image.")
        as_jpeg = im.format in ("JPEG", "MPO")
        try:
            im.load()
        except Exception as exc:
            log.info("image load failed: %s: %s", type(exc).__name__, exc)
            raise InvalidImage(
                f"The {'JPEG' if as_jpeg else im.format} image could not be decoded: the file is "
                "truncated or corrupt. Re-export it and try again."
            ) from None

        try:
            ImageOps.exif_transpose(im, in_place=True)
            rgb = _to_rgb(im)
            clean = Image.new("RGB", rgb.size)
            clean.paste(rgb)
        except Exception as exc:
            log.info("image conversion failed: %s: %s", type(exc).__name__, exc)
            raise InvalidImage(
                "The image could not be converted to RGB; it may be corrupt or use an unusual "
                "color mode. Re-export it as an 8-bit RGB PNG or JPEG."
            ) from None
    return clean, as_jpeg


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """The same gate as `clean_image` for images that are never stored as they came (a model
    provider's output, which the render encodes itself): checked and decoded, not re-encoded."""
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return _decode(data, max_pixels)[0]
    except (InvalidImage, PayloadTooLarge):
        raise
    except Exception as exc:
        log.info("image rejected: %s: %s", type(exc).__name__, exc)
        raise InvalidImage("The image could not be read; it may be corrupt.") from None


class ImageCleaner:
    """`clean_image` in worker threads, a few at a time: a 50-megapixel image holds several
    copies of itself in memory while it is decoded and re-encoded."""

    def __init__(self, *, max_bytes: int, max_pixels: int, concurrency: int) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._limiter = anyio.CapacityLimiter(concurrency)

    async def clean(self, data: bytes) -> CleanImage:
        return await anyio.to_thread.run_sync(self._clean, data, limiter=self._limiter)

    async def clean_base64(self, text: str) -> CleanImage:
        """`image_base64` decoded and cleaned, in one trip to a worker thread."""
        return await anyio.to_thread.run_sync(self._clean_base64, text, limiter=self._limiter)

    def _clean(self, data: bytes) -> CleanImage:
        return clean_image(data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)

    def _clean_base64(self, text: str) -> CleanImage:
        return self._clean(decode_base64(text, max_bytes=self.max_bytes))
