"""What the hosted-model engines share (openai, gemini, stability, replicate): their settings'
common fields, the start-up check of the key, waiting out a 429 within the render's deadline,
and bringing the provider's output back as an image of exactly the size asked for.

A provider's answer is untrusted bytes like any upload: it is decoded and re-encoded through
the same intake as user images before anything else sees it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from PIL import Image

from tds.engines.base import EngineError, EngineUnavailable
from tds.engines.common.images import quick_resize
from tds.engines.common.settings import EngineSettings
from tds.exceptions import TdsError
from tds.images.intake import decode_image

# A provider's image is at most this large (a 4k PNG is ~30 MB) and this many pixels.
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
MAX_OUTPUT_PIXELS = 80_000_000
MAX_BACKOFF_SECONDS = 20.0


class HostedSettings(EngineSettings):
    """Fields every hosted provider has; a subclass sets `env_prefix` (TDS_OPENAI_, …) and
    its own defaults for `base_url` and `model`."""

    api_key: str = ""
    base_url: str = ""
    model: str = ""
    timeout_seconds: float = 300.0  # one render, 429 waits included
    request_timeout_seconds: float = 240.0  # one HTTP call (image models take a minute)
    retries: int = 4  # after a 429, within timeout_seconds

    def require_key(self) -> None:
        """Stop the server at start-up when the provider's key is missing."""
        if not self.api_key.strip():
            variable = self.variables("api_key")[0]
            raise RuntimeError(f"{self.__class__.__name__}: set {variable} to the provider's key")


class Deadline:
    """The time one render may take with its provider, 429 waits included."""

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.at = clock() + seconds

    def left(self) -> float:
        return self.at - self._clock()

    def wait_out(self, attempt: int, retries: int, retry_after: float | None) -> bool:
        """Sleep before retry `attempt` (1-based) after a 429; False when none fits."""
        if attempt > retries:
            return False
        delay = min(MAX_BACKOFF_SECONDS, max(retry_after or 0.0, 0.5 * 2 ** (attempt - 1)))
        if delay >= self.left():
            return False
        self._sleep(delay)
        return True


def retry_after(value: str | None) -> float | None:
    """A Retry-After header's seconds (the HTTP-date form is treated as absent)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def rate_limited(provider: str) -> EngineUnavailable:
    return EngineUnavailable(f"{provider} is rate-limiting this server; retry in a minute or two")


def input_png(image: Image.Image) -> bytes:
    """The image as a PNG, compressed lightly: zlib's level 1 encodes several times faster than
    the default for a file a third larger, and the upload is the lesser cost."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def output_image(data: bytes, width: int, height: int) -> Image.Image:
    """The provider's bytes through the same gate as any image in (formats, size limits, a
    fresh RGB image without metadata; the render encodes it for storage), at exactly width × height
    (providers answer their own sizes: 1536×1024, 1024², aspect-ratio buckets)."""
    try:
        image = decode_image(data, max_bytes=MAX_OUTPUT_BYTES, max_pixels=MAX_OUTPUT_PIXELS)
    except TdsError as error:
        raise EngineError(f"the provider answered an unusable image ({error.message})") from None
    return quick_resize(image, (width, height))
