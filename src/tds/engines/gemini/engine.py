"""GeminiEngine: each render is one generateContent call to a Gemini image model.

One call is what Google bills, and the API has no idempotency key, so a call is retried only
when Google provably did not take it: a 429 (throttled before any work; we wait what it asks,
within the render's deadline) or a connection that could not be opened. A timeout after the
request was sent, a dropped connection or a 5xx may have been billed, so the render fails
(the server refunds it) rather than run twice. The SDK's own retries are off
(`retry_options=None`): this module is the one that decides.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Callable

import httpx
from google import genai
from google.genai import errors, types
from PIL import Image

from tds.engines.base import EngineError, EngineUnavailable, Job, Kind, Output, Progress
from tds.engines.common import hosted
from tds.engines.gemini import answers, request
from tds.engines.gemini.config import GeminiSettings

log = logging.getLogger(__name__)

API_VERSION = "v1beta"  # imageConfig (aspect ratio, size) is documented on v1beta
TOTAL = 4  # progress: 1 sent, 3 answered, 4 decoded
MIN_REQUEST_SECONDS = 0.1


class GeminiEngine:
    name = "gemini"
    generative = True

    def __init__(
        self,
        config: GeminiSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else GeminiSettings.from_env()
        self.kinds: frozenset[Kind] = self.config.kinds
        self.description = (
            f'Google\'s Gemini image model {self.config.model} ("Nano Banana"), hosted by '
            "Google and called through the Gemini API: a generative model that repaints the "
            "image from a written instruction. It has no geometry control, so walls and "
            "openings stay where they are only as far as the model follows the instruction."
        )
        self._sleep = sleep
        self._clock = clock
        self._http: httpx.Client | None = None
        self._client: genai.Client | None = None

    def setup(self) -> None:
        self.config.require_key()
        if self._client is not None:
            return
        # Our own httpx clients, so that the transport errors below are httpx's (the SDK would
        # otherwise pick httpx2 when it is installed) and redirects are never followed; the
        # async one is never used, and given only so that the SDK makes none of its own.
        timeout = httpx.Timeout(self.config.request_timeout_seconds)
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        # Everything explicit: vertexai=False and the key keep the SDK from reading
        # GOOGLE_GENAI_USE_VERTEXAI / GOOGLE_API_KEY / GEMINI_API_KEY, api_version from
        # reading GOOGLE_GENAI_API_VERSION; retry_options=None is the SDK's "never retry".
        self._client = genai.Client(
            vertexai=False,
            api_key=self.config.api_key.strip(),
            http_options=types.HttpOptions(
                base_url=self.config.base_url,
                api_version=API_VERSION,
                timeout=_ms(self.config.request_timeout_seconds),
                retry_options=None,
                httpx_client=self._http,
                httpx_async_client=httpx.AsyncClient(timeout=timeout, follow_redirects=False),
            ),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def run(self, job: Job, progress: Progress) -> Output:
        if job.kind not in self.kinds:
            raise EngineError(f"this server's gemini engine does not do {job.kind!r}")
        if self._client is None:
            self.setup()
        deadline = hosted.Deadline(self.config.timeout_seconds, self._clock, self._sleep)
        progress(0, TOTAL)
        contents = request.contents(job)
        progress(1, TOTAL)  # the last moment a cancel costs nothing
        response = self._generate(job, contents, deadline, progress)
        progress(3, TOTAL)
        data = answers.image_bytes(response)
        image = hosted.output_image(data, job.width, job.height)
        warnings = _stretched(data, job)
        progress(TOTAL, TOTAL)
        return Output(image=image, warnings=warnings)

    def _generate(
        self,
        job: Job,
        contents: list[types.Content],
        deadline: hosted.Deadline,
        progress: Progress,
    ) -> types.GenerateContentResponse:
        client = self._client
        assert client is not None
        attempt = 0
        while True:
            attempt += 1
            seconds = max(
                MIN_REQUEST_SECONDS, min(self.config.request_timeout_seconds, deadline.left())
            )
            config = request.generation_config(job, self.config.image_size, _ms(seconds))
            try:
                return client.models.generate_content(
                    model=self.config.model, contents=contents, config=config
                )
            except errors.APIError as error:
                if error.code != 429:
                    raise self._failure(error) from None
                wait = answers.retry_delay(error)
                log.warning(
                    "gemini: throttled (%s), attempt %d", self._safe(answers.detail(error)), attempt
                )
                if not deadline.wait_out(attempt, self.config.retries, wait):
                    raise hosted.rate_limited("Gemini") from None
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                # Nothing was sent: a retry cannot be billed twice.
                log.warning("gemini: no connection (%s), attempt %d", type(error).__name__, attempt)
                if not deadline.wait_out(attempt, self.config.retries, None):
                    raise EngineUnavailable("Gemini could not be reached") from None
            except httpx.TimeoutException:
                log.warning("gemini: no answer within %.3g s; not retried", seconds)
                raise EngineError(
                    f"Gemini did not answer within {seconds:.3g} s; {answers.NOT_RETRIED}"
                ) from None
            except httpx.TransportError as error:
                log.warning("gemini: %s after sending; not retried", type(error).__name__)
                raise EngineError(
                    f"the connection to Gemini broke; {answers.NOT_RETRIED}"
                ) from None
            except (errors.UnknownApiResponseError, ValueError, TypeError, KeyError) as error:
                # Not JSON, or JSON the SDK cannot read as a response.
                log.warning("gemini: unreadable answer: %s", self._safe(str(error))[:500])
                raise EngineError("Gemini sent an answer that could not be read") from None
            progress(1, TOTAL)  # raises JobCanceled when the render was canceled meanwhile

    def _failure(self, error: errors.APIError) -> EngineError:
        described = self._safe(answers.detail(error))
        if answers.is_key_problem(error):
            log.error(
                "gemini: Google refused this server's API key (%s); check TDS_GEMINI_API_KEY",
                described,
            )
            return EngineUnavailable("Gemini refused this server's API key")
        failure = answers.failure(error, self.config.model, described)
        level = logging.ERROR if isinstance(failure, EngineUnavailable) else logging.WARNING
        log.log(level, "gemini: %s", described)
        return failure

    def _safe(self, text: str) -> str:
        """`text` without the API key, should Google ever echo it."""
        key = self.config.api_key.strip()
        return text.replace(key, "[key]") if key else text


def _stretched(data: bytes, job: Job) -> list[str]:
    """A warning when Gemini's answer differs from the job's aspect ratio by more than 5 %
    (its own size buckets are up to 3 % off their nominal ratios): it was resized to the
    job's frame, not cropped, so it is stretched that much."""
    with Image.open(io.BytesIO(data)) as opened:  # already decoded once: only the header
        width, height = opened.size
    stretch = abs(math.log((width / height) / (job.width / job.height)))
    if stretch <= math.log(1.05):
        return []
    return [
        f"Gemini answered {width}×{height} px, the nearest aspect ratio it makes; it was "
        f"resized to {job.width}×{job.height}, which stretches it by "
        f"{math.expm1(stretch):.0%} one way."
    ]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
