"""What each GPT Image model takes on `POST /images/edits`, as OpenAI documents it, and the
size to ask for.

From the Images API reference (the `openai` SDK's `images.edit` and `ImageEditParams`, which
are generated from OpenAI's OpenAPI spec; https://developers.openai.com/api/reference/resources/images/methods/edit):

- `size`: `1024x1024`, `1536x1024` and `1024x1536` for every GPT Image model; `gpt-image-2`
  and the `gpt-image-2.5` models (and their dated snapshots) take any `WIDTHxHEIGHT` with both
  sides divisible by 16, an aspect ratio within 1:3–3:1 and at most 3840 px on a side, within
  the model's pixel limits (655,360–8,294,400); above 2560×1440 is "experimental".
- `input_fidelity`: `high` on `gpt-image-1` and `gpt-image-1.5`; `gpt-image-1-mini` takes only
  `low` (the default, so it is left out); `gpt-image-2` and later must omit it (they answer
  400 `invalid_input_fidelity_model`) and keep their inputs at high fidelity anyway.
- `quality`: `low`, `medium`, `high`, `auto` everywhere; `xhigh` and `max` on the 2.5 models.

A model this table does not know (a newer one) gets what every GPT Image model takes: the
three standard sizes and no `input_fidelity`; its quality is passed through unchecked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

STANDARD_SIZES: tuple[tuple[int, int], ...] = ((1024, 1024), (1536, 1024), (1024, 1536))
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
MAX_EDGE = 3840
MAX_RATIO = 3.0
STEP = 16
STABLE_PIXELS = 2560 * 1440  # larger sizes are experimental

QUALITIES = frozenset({"low", "medium", "high", "auto"})
QUALITIES_2_5 = QUALITIES | {"xhigh", "max"}


@dataclass(frozen=True)
class ImageModel:
    flexible_size: bool  # any WIDTHxHEIGHT within the limits, else the three standard sizes
    input_fidelity: bool  # takes input_fidelity=high
    qualities: frozenset[str] | None  # None: not known, passed through


MODELS: dict[str, ImageModel] = {
    "gpt-image-1": ImageModel(False, True, QUALITIES),  # shut down by OpenAI on 2026-10-23
    "gpt-image-1.5": ImageModel(False, True, QUALITIES),
    "gpt-image-1-mini": ImageModel(False, False, QUALITIES),
    "chatgpt-image-latest": ImageModel(False, False, QUALITIES),
    "gpt-image-2": ImageModel(True, False, QUALITIES),
    "gpt-image-2.5-sunburst": ImageModel(True, False, QUALITIES_2_5),
    "gpt-image-2.5-flare": ImageModel(True, False, QUALITIES_2_5),
}
UNKNOWN = ImageModel(False, False, None)
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-image-2.5-flare-2026-09-08


def lookup(name: str) -> ImageModel:
    """What `name` (a model or one of its dated snapshots) takes."""
    return MODELS.get(_SNAPSHOT.sub("", name.strip()), UNKNOWN)


def request_size(model: ImageModel, width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The size to ask for: the job's aspect ratio as closely as the model allows, at the job's
    pixel count within the model's limits and `max_pixels`."""
    if not model.flexible_size:
        target = math.log(width / height)
        return min(STANDARD_SIZES, key=lambda size: abs(math.log(size[0] / size[1]) - target))
    return flexible_size(width, height, max_pixels)


def flexible_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    ratio = min(MAX_RATIO, max(1 / MAX_RATIO, width / height))
    pixels = min(max_pixels, max(MIN_PIXELS, width * height))
    ideal_width = math.sqrt(pixels * ratio)
    ideal_height = ideal_width / ratio
    shrink = min(1.0, MAX_EDGE / max(ideal_width, ideal_height))
    ideal_width, ideal_height = ideal_width * shrink, ideal_height * shrink
    candidates = [
        (w, h)
        for w in _multiples(ideal_width)
        for h in _multiples(ideal_height)
        if allowed(w, h, max_pixels)
    ]
    if not candidates:  # max_pixels near the minimum: any allowed size, by closeness
        candidates = [
            (w, h)
            for h in range(STEP, MAX_EDGE + 1, STEP)
            for w in range(STEP, MAX_EDGE + 1, STEP)
            if allowed(w, h, max_pixels)
        ]
    if not candidates:  # max_pixels below the minimum: refused by the settings
        return STANDARD_SIZES[0]

    def distance(size: tuple[int, int]) -> tuple[float, int]:
        return abs(math.log(size[0] / size[1] / ratio)), abs(size[0] * size[1] - pixels)

    return min(candidates, key=distance)


def allowed(width: int, height: int, max_pixels: int = MAX_PIXELS) -> bool:
    """Whether a flexible-size model takes WIDTHxHEIGHT."""
    return (
        width % STEP == 0
        and height % STEP == 0
        and MIN_PIXELS <= width * height <= min(max_pixels, MAX_PIXELS)
        and max(width, height) <= MAX_EDGE
        and max(width, height) / min(width, height) <= MAX_RATIO
    )


def _multiples(side: float) -> tuple[int, int]:
    low = max(STEP, math.floor(side / STEP) * STEP)
    return low, low + STEP
