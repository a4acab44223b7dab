"""Model inputs from a job: JSON templates with "{placeholders}", images as URLs.

A template value that is exactly one placeholder gets the value's own type (a seed stays a
number); placeholders inside longer text are substituted as text. Images go as data URIs
when small, else through the files API (the `upload` callable).
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Callable
from typing import Any

from PIL import Image

from tds.engines.base import Job
from tds.engines.common import control, prompts

PLACEHOLDERS = {
    "image": "the input image (URL)",
    "edges": "Canny edges of the input, white on black (URL)",
    "prompt": "the composed prompt: user words, scene, style, lighting, quality",
    "negative_prompt": "the composed negative prompt",
    "instruction": "an editing instruction, for instruction models (Kontext, Qwen-Image-Edit)",
    "seed": "the job's seed (number)",
    "width": "output width in px (number)",
    "height": "output height in px (number)",
    "aspect_ratio": "the nearest of 1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3, 4:5, 5:4, 21:9, 9:21",
    "upscale_factor": "2x, 4x or 6x: the least that reaches the output size",
    "scale": "2, 4 or 6 as a number: the same factor",
    "strength": "refine strength 0–1 (number)",
    "geometry_fidelity": "geometry fidelity 0–1 (number)",
}
_PATTERN = re.compile(r"\{([a-z_]+)\}")
RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21")

Upload = Callable[[bytes, str], str]


def check(template: Any, name: str) -> None:
    """Raise ValueError when a template names a placeholder that does not exist."""
    for text in _strings(template):
        for found in _PATTERN.findall(text):
            if found not in PLACEHOLDERS:
                raise ValueError(
                    f"{name}: unknown placeholder {{{found}}}; "
                    f"known: {', '.join('{' + key + '}' for key in PLACEHOLDERS)}"
                )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def upscale_factor(job: Job) -> int:
    needed = max(job.width / job.image.width, job.height / job.image.height)
    return next((factor for factor in (2, 4, 6) if factor >= needed - 1e-6), 6)


def aspect_ratio(width: int, height: int) -> str:
    target = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(part) for part in ratio.split(":"))
        return abs(math.log(w / h) - target)

    return min(RATIOS, key=distance)


def encode_image(image: Image.Image, kind: str = "JPEG") -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if kind == "PNG":
        image.save(buffer, "PNG", optimize=False)
        return buffer.getvalue(), "image/png"
    image.convert("RGB").save(buffer, "JPEG", quality=95, subsampling=0)
    return buffer.getvalue(), "image/jpeg"


def as_url(data: bytes, content_type: str, limit: int, upload: Upload) -> str:
    if len(data) <= limit:
        return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    return upload(data, content_type)


def build(template: dict[str, Any], job: Job, data_uri_limit: int, upload: Upload) -> Any:
    """The model input for `job`: the template with every placeholder filled in."""
    cache: dict[str, Any] = {}
    composed = prompts.compose(job)

    def value(name: str) -> Any:
        if name in cache:
            return cache[name]
        if name == "image":
            result: Any = as_url(*encode_image(job.image), data_uri_limit, upload)
        elif name == "edges":
            result = as_url(*encode_image(control.canny(job.image), "PNG"), data_uri_limit, upload)
        elif name == "prompt":
            result = composed.prompt
        elif name == "negative_prompt":
            result = composed.negative
        elif name == "instruction":
            result = prompts.instruction(job)
        elif name == "seed":
            result = int(job.seed)
        elif name in ("width", "height"):
            result = int(getattr(job, name))
        elif name == "aspect_ratio":
            result = aspect_ratio(job.width, job.height)
        elif name == "upscale_factor":
            result = f"{upscale_factor(job)}x"
        elif name == "scale":
            result = upscale_factor(job)
        elif name in ("strength", "geometry_fidelity"):
            result = float(getattr(job, name))
        else:
            raise ValueError(f"unknown placeholder {{{name}}}")
        cache[name] = result
        return result

    def fill(item: Any) -> Any:
        if isinstance(item, str):
            whole = _PATTERN.fullmatch(item)
            if whole:
                return value(whole.group(1))
            return _PATTERN.sub(lambda match: str(value(match.group(1))), item)
        if isinstance(item, dict):
            return {key: fill(sub) for key, sub in item.items()}
        if isinstance(item, list):
            return [fill(sub) for sub in item]
        return item

    return fill(template)
