"""What one render asks of Gemini: the image and the instruction as one user turn, and a
generation config asking for an image of the aspect ratio and size nearest the job's.

Request fields as documented for generateContent and image generation
(https://ai.google.dev/api/generate-content, https://ai.google.dev/gemini-api/docs/image-generation):
`contents[].parts[]` with `inlineData {mimeType, data}` and `text`; `generationConfig` with
`responseModalities`, `seed` and `imageConfig {aspectRatio, imageSize}`.
"""

from __future__ import annotations

import io
import math

from google.genai import types
from PIL import Image

from tds.engines.base import Job
from tds.engines.common import prompts
from tds.engines.common.hosted import input_png
from tds.engines.gemini.config import ImageSize

# The aspect ratios every Gemini image model takes (3.1 Flash Image has a few more, extreme
# ones; these ten are common to 2.5 Flash Image, 3 Pro Image and 3.1 Flash Image).
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
# An inline image counts against the 20 MB request limit after base64 (4/3 larger): a PNG
# beyond this goes as a JPEG instead (a 4k photograph can be 30 MB as PNG, ~6 MB as JPEG).
MAX_INLINE_PNG_BYTES = 12 * 1024 * 1024


def aspect_ratio(width: int, height: int) -> str:
    """The supported ratio nearest width:height (by the log of the ratio: 2:1 is as far from
    1:1 as 1:2 is)."""
    target = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(part) for part in ratio.split(":"))
        return abs(math.log(w / h) - target)

    return min(ASPECT_RATIOS, key=distance)


def image_size(width: int, height: int, setting: ImageSize) -> str | None:
    """Gemini's size tier for the job: 1K, 2K or 4K on the long edge (None: send none)."""
    if setting == "none":
        return None
    if setting != "auto":
        return setting
    edge = max(width, height)
    return "1K" if edge <= 1024 else "2K" if edge <= 2048 else "4K"


def inline_image(image: Image.Image) -> types.Part:
    """The input image as inline data: PNG (lossless) unless that is too large to send."""
    data = input_png(image)
    if len(data) <= MAX_INLINE_PNG_BYTES:
        return types.Part.from_bytes(data=data, mime_type="image/png")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=95, subsampling=0)
    return types.Part.from_bytes(data=buffer.getvalue(), mime_type="image/jpeg")


def contents(job: Job) -> list[types.Content]:
    """One user turn: the image first, then what to do with it."""
    return [
        types.Content(
            role="user",
            parts=[inline_image(job.image), types.Part.from_text(text=prompts.instruction(job))],
        )
    ]


def generation_config(
    job: Job, size_setting: ImageSize, timeout_ms: int
) -> types.GenerateContentConfig:
    """An image only (no text beside it), the job's seed, its nearest ratio and size; the
    per-request timeout is this attempt's share of the render's deadline."""
    return types.GenerateContentConfig(
        response_modalities=["IMAGE"],
        seed=job.seed,
        image_config=types.ImageConfig(
            aspect_ratio=aspect_ratio(job.width, job.height),
            image_size=image_size(job.width, job.height, size_setting),
        ),
        http_options=types.HttpOptions(timeout=timeout_ms),
    )
