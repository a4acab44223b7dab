"""OpenAIEngine: each render is one `POST /images/edits` on OpenAI's Images API, through the
official `openai` SDK.

The viewport goes as `image[]` (PNG), the editing instruction as `prompt`, with the model,
the size closest to the job's aspect ratio, the quality, `n=1`, `output_format=png` and, for the
models that take it, `input_fidelity=high`. The answer's `data[0].b64_json` is decoded and
re-encoded like any upload and brought to the job's exact size.

Kinds: render, refine and staging are instruction edits of one image, which is what the
endpoint does. Not enhance: the Images API has no upscaler, an edit repaints every pixel (it
cannot promise to change nothing, and lines and lettering drift), and the largest stable size
(2560×1440) is below a 4k output, which would then be a plain resize of the model's image.
Not video: the Images API makes stills.

**Never two paid edits for one render.** An edit is charged once OpenAI accepts it and the API
has no idempotency key, so the SDK's own retries are off (`max_retries=0`) and the engine
retries only what provably did not run: a 429 (throttled; it waits for `retry-after-ms` /
`Retry-After` within the render's deadline) and a connection that was never opened. A 5xx,
a read timeout or a connection lost after the request was sent fails the render (refunded);
it is not retried.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import httpx2
import openai
from openai.types import ImagesResponse
from PIL import Image

from tds.engines.base import (
    ContentRefused,
    EngineError,
    EngineUnavailable,
    Job,
    Kind,
    Output,
    Progress,
)
from tds.engines.common import hosted, prompts
from tds.engines.common.images import quick_resize
from tds.engines.openai import models
from tds.engines.openai.config import OpenAISettings

log = logging.getLogger(__name__)

STEPS = 4  # progress: 0 start, 1 sending (each try), 3 answered, 4 done
CONNECT_SECONDS = 10.0
REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
# Never sent: nothing reached OpenAI, so a retry cannot be a second paid edit.
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
_TRY_AGAIN = re.compile(r"try again in\s+(\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)
CROP_WARNING = 0.02  # a crop that removes more than this of a side is reported


class OpenAIEngine:
    name = "openai"
    generative = True

    def __init__(
        self,
        config: OpenAISettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else OpenAISettings.from_env()
        self.kinds: frozenset[Kind] = self.config.kinds
        self.model = models.lookup(self.config.model)
        self.description = (
            f"OpenAI's GPT Image model {self.config.model}, hosted by OpenAI (Images API edits): "
            "a generative model that repaints the whole image from the input and an instruction; "
            "it has no seed, so the same request gives a different image each time."
        )
        self._sleep = sleep
        self._clock = clock
        self._client: openai.OpenAI | None = None

    def setup(self) -> None:
        self.config.require_key()
        if self._client is None:
            self._client = self._make_client()

    def _make_client(self) -> openai.OpenAI:
        config = self.config
        client = openai.OpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            organization=config.organization or None,
            project=config.project or None,
            timeout=self._timeout(config.request_timeout_seconds),
            max_retries=0,  # ours retry (see the module doc); the SDK's would pay twice
        )
        # Left unset, the SDK would fill these from OPENAI_ORG_ID / OPENAI_PROJECT_ID: ours only.
        client.organization = config.organization or None
        client.project = config.project or None
        return client

    @staticmethod
    def _timeout(seconds: float) -> httpx2.Timeout:
        return httpx2.Timeout(seconds, connect=min(seconds, CONNECT_SECONDS))

    def run(self, job: Job, progress: Progress) -> Output:
        if job.kind not in self.kinds:
            raise EngineError(f"this server's openai engine does not do {job.kind!r}")
        if self._client is None:
            self.setup()
        assert self._client is not None
        progress(0, STEPS)
        size = models.request_size(self.model, job.width, job.height, self.config.max_pixels)
        arguments: dict[str, Any] = {
            "image": [("viewport.png", hosted.input_png(_shrink(job.image, size)), "image/png")],
            "prompt": prompts.instruction(job),
            "model": self.config.model,
            "size": f"{size[0]}x{size[1]}",
            "quality": self.config.quality,
            "n": 1,
            "output_format": "png",
        }
        if self.model.input_fidelity:
            arguments["input_fidelity"] = "high"
        response = self._edit(self._client, arguments, progress)
        progress(3, STEPS)
        data = _image_bytes(response)
        image, warnings = _fit(data, _answered_size(response, size), job)
        progress(STEPS, STEPS)
        return Output(image=image, warnings=warnings)

    def _edit(self, client: openai.OpenAI, arguments: dict[str, Any], progress: Progress) -> Any:
        deadline = hosted.Deadline(self.config.timeout_seconds, self._clock, self._sleep)
        retries = self.config.retries
        attempt = 0
        while True:
            attempt += 1
            progress(1, STEPS)  # the last moment a cancel costs nothing
            left = deadline.left()
            if left <= 0:
                raise EngineError(
                    f"OpenAI did not answer within {self.config.timeout_seconds:.0f} s"
                )
            seconds = min(self.config.request_timeout_seconds, left)
            try:
                return client.images.edit(**arguments, timeout=self._timeout(seconds))
            except openai.RateLimitError as error:
                # Out of quota is billing, not throttling: waiting would not help.
                if error.code == "insufficient_quota":
                    log.error("OpenAI: out of quota: %s", self._detail(error))
                    raise EngineUnavailable(
                        "OpenAI refuses this server's requests: its account is out of quota"
                    ) from None
                log.warning("OpenAI: rate-limited (attempt %d): %s", attempt, self._detail(error))
                if deadline.wait_out(attempt, retries, _retry_after(error)):
                    continue
                raise hosted.rate_limited("OpenAI") from None
            except openai.APIConnectionError as error:  # timeouts included
                if isinstance(error.__cause__, NOT_SENT):
                    log.warning("OpenAI: no connection (attempt %d): %r", attempt, error.__cause__)
                    if deadline.wait_out(attempt, retries, None):
                        continue
                    raise EngineUnavailable("OpenAI could not be reached") from None
                log.warning("OpenAI: %r after the request was sent; not retried", error.__cause__)
                what = (
                    f"did not answer within {seconds:g} s"
                    if isinstance(error, openai.APITimeoutError)
                    else "dropped the connection"
                )
                raise EngineError(
                    f"OpenAI {what}; the render was not retried so that it is not paid twice"
                ) from None
            except openai.APIStatusError as error:
                raise self._status_error(error) from None
            except (openai.APIError, ValueError) as error:  # an answer the SDK could not read
                log.warning("OpenAI: unreadable answer: %s", type(error).__name__)
                raise EngineError("OpenAI sent an unreadable answer") from None

    def _status_error(self, error: openai.APIStatusError) -> EngineError:
        status, detail = error.status_code, self._detail(error)
        if status in (401, 403):
            log.error("OpenAI refused this server's credentials (HTTP %d): %s", status, detail)
            return EngineUnavailable(
                f"OpenAI refused this server's credentials (HTTP {status}); "
                "the operator's log has the detail"
            )
        if status == 404:
            log.error("OpenAI: HTTP 404 for model %s: %s", self.config.model, detail)
            return EngineUnavailable(
                f"OpenAI does not serve the model {self.config.model} to this server (HTTP 404)"
            )
        if status == 400 and _refusal(error, detail):
            return ContentRefused(f"OpenAI's safety system refused it: {detail}")
        if status >= 500:
            log.warning("OpenAI: HTTP %d: %s; not retried", status, detail)
            return EngineError(
                f"OpenAI failed (HTTP {status}: {detail}); the render was not retried so that "
                "it is not paid twice"
            )
        return EngineError(f"OpenAI rejected the request (HTTP {status}): {detail}")

    def _detail(self, error: openai.APIError) -> str:
        """The provider's message, short, with this server's key taken out of it."""
        body = error.body
        message = body.get("message") if isinstance(body, dict) else None
        text = " ".join(str(message or error.message or "no detail").split())[:300]
        key = self.config.api_key.strip()
        return text.replace(key, "[key]") if key else text


def _refusal(error: openai.APIStatusError, detail: str) -> bool:
    return error.code in REFUSAL_CODES or "safety system" in detail.lower()


def _retry_after(error: openai.APIStatusError) -> float | None:
    """Seconds to wait after a 429: retry-after-ms, Retry-After, else "try again in 12s"."""
    headers = error.response.headers
    try:
        milliseconds = headers.get("retry-after-ms")
        if milliseconds:
            return max(0.0, float(milliseconds) / 1000)
    except ValueError:
        pass
    seconds = hosted.retry_after(headers.get("retry-after"))
    if seconds is not None:
        return seconds
    body = error.body
    found = _TRY_AGAIN.search(str(body.get("message", "")) if isinstance(body, dict) else "")
    if found is None:
        return None
    value = float(found.group(1))
    return value / 1000 if found.group(2).lower() == "ms" else value


def _image_bytes(response: Any) -> bytes:
    """The image in an edit's answer: `data[0].b64_json`, decoded."""
    data = response.data if isinstance(response, ImagesResponse) else None
    encoded = getattr(data[0], "b64_json", None) if isinstance(data, list) and data else None
    if not isinstance(encoded, str) or not encoded:
        raise EngineError("OpenAI answered without an image")
    if len(encoded) > hosted.MAX_OUTPUT_BYTES * 4 // 3 + 4:
        raise EngineError("OpenAI's image is too large")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise EngineError("OpenAI answered a malformed image") from None


def _answered_size(response: Any, asked: tuple[int, int]) -> tuple[int, int]:
    """The size the answer says it has (`size`: "1536x1024") when it is one OpenAI can make,
    else the one asked for."""
    width, _, height = str(getattr(response, "size", "") or "").partition("x")
    if not (width.isdigit() and height.isdigit()):
        return asked
    size = int(width), int(height)
    within = min(size) >= models.STEP and max(size) <= models.MAX_EDGE
    return size if within and max(size) <= models.MAX_RATIO * min(size) else asked


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The input no larger than needed to cover the size asked for (fewer bytes to send and
    fewer input tokens to pay; the model works at its own resolution)."""
    scale = max(size[0] / image.width, size[1] / image.height)
    if scale >= 1:
        return image
    return quick_resize(
        image, (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    )


def _fit(data: bytes, answered: tuple[int, int], job: Job) -> tuple[Image.Image, list[str]]:
    """The provider's image at exactly the job's size: scaled to cover it, centre-cropped, so a
    standard size of another aspect ratio is cropped, never stretched."""
    width, height = job.width, job.height
    scale = max(width / answered[0], height / answered[1])
    cover = (max(width, round(answered[0] * scale)), max(height, round(answered[1] * scale)))
    image = hosted.output_image(data, *cover)
    if cover == (width, height):
        return image, []
    left, top = (cover[0] - width) // 2, (cover[1] - height) // 2
    image = image.crop((left, top, left + width, top + height))
    warnings: list[str] = []
    if 1 - min(width / cover[0], height / cover[1]) > CROP_WARNING:
        warnings.append(
            f"OpenAI's {answered[0]}×{answered[1]} px image was cropped to the "
            f"{width}×{height} frame (the model offers no closer aspect ratio)."
        )
    return image, warnings
