"""One multipart POST to Stability's Stable Image API, with a retry policy that never pays twice.

Every call here generates an image and costs credits, and the API has no idempotency key, so a
request is retried only when it provably did not run: the connection could not be opened
(nothing was sent), or the answer was 429 (throttled before anything ran). A 5xx, a timeout
while waiting for the answer or a connection lost after sending may have run and been charged:
the job fails (the server refunds the user) and is not sent again.

Errors come back as `{"id", "name", "errors": [...]}`; the one that matters most to tell apart is
403, which is either the content moderation (`name: content_moderation`, ContentRefused) or a key
without permission (EngineUnavailable, like a 401: the detail goes to the log, never the key).
A 200 whose `finish-reason` header is CONTENT_FILTERED carries a blurred image: refused too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from tds.engines.base import ContentRefused, EngineError, EngineUnavailable
from tds.engines.common import hosted
from tds.engines.stability.config import StabilitySettings

log = logging.getLogger(__name__)

PROVIDER = "Stability AI"
CLIENT_ID = "tds"  # `stability-client-id`: lets Stability's support see which app called
MAX_ERROR_BYTES = 64 * 1024
CONNECT_SECONDS = 15.0  # opening a connection; a failure to is retried (nothing was sent)
# A 429's body says how long the key is timed out when no Retry-After header comes with it.
_TIMED_OUT = re.compile(r"timed out for (\d+(?:\.\d+)?) seconds")

# (file name, bytes, content type), as httpx takes a multipart file.
File = tuple[str, bytes, str]


@dataclass(frozen=True)
class Problem:
    """A non-200 answer: the status and what the JSON error body says."""

    status: int
    name: str
    message: str
    id: str
    retry_after: str | None = None  # the Retry-After header, when given

    def __str__(self) -> str:
        name = f" {self.name}" if self.name else ""
        return (
            f"HTTP {self.status}{name}: {self.message}" if self.message else f"HTTP {self.status}"
        )


class StabilityClient:
    def __init__(
        self,
        config: StabilitySettings,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.base = config.base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.request_timeout_seconds),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "tds-stability-engine", "stability-client-id": CLIENT_ID},
        )

    def close(self) -> None:
        self._http.close()

    def post(
        self,
        path: str,
        fields: Mapping[str, str],
        files: Mapping[str, File],
        deadline: hosted.Deadline,
        before_attempt: Callable[[], None] = lambda: None,
    ) -> bytes:
        """The image bytes of one successful generation at `path` (e.g.
        /v2beta/stable-image/control/structure). `before_attempt` runs before every attempt
        (the engine reports progress there, which raises JobCanceled once canceled)."""
        url = f"{self.base}{path}"
        headers = {"Authorization": f"Bearer {self.config.api_key}", "Accept": "image/*"}
        attempt = 0
        while True:
            attempt += 1
            before_attempt()
            left = deadline.left()
            if left <= 0:
                raise EngineError(
                    f"{PROVIDER} took longer than {self.config.timeout_seconds:.0f} s"
                )
            seconds = min(self.config.request_timeout_seconds, left)
            timeout = httpx.Timeout(seconds, connect=min(CONNECT_SECONDS, seconds))
            try:
                with self._http.stream(
                    "POST",
                    url,
                    data=dict(fields),
                    files=dict(files),
                    headers=headers,
                    timeout=timeout,
                ) as response:
                    if response.status_code == 200:
                        return self._image(response)
                    problem = self._problem(response)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # Nothing was sent: a retry cannot run (or be charged) twice.
                log.warning("%s: no connection (%s), attempt %d", path, error, attempt)
                if deadline.wait_out(attempt, self.config.retries, None):
                    continue
                raise EngineUnavailable(f"{PROVIDER} could not be reached") from None
            except httpx.TimeoutException:
                log.warning("%s: no answer within %.0f s; not retried", path, timeout.read or 0)
                raise EngineError(
                    f"{PROVIDER} did not answer in time; the request was not retried so that "
                    "it cannot be charged twice"
                ) from None
            except httpx.TransportError as error:
                log.warning("%s: %s after sending; not retried", path, type(error).__name__)
                raise EngineError(
                    f"the connection to {PROVIDER} broke; the request was not retried so that "
                    "it cannot be charged twice"
                ) from None
            if problem.status == 429:
                wait = hosted.retry_after(problem.retry_after)
                if wait is None and (found := _TIMED_OUT.search(problem.message)):
                    wait = float(found.group(1))
                log.warning("%s: throttled (%s), attempt %d", path, problem, attempt)
                if deadline.wait_out(attempt, self.config.retries, wait):
                    continue
                raise hosted.rate_limited(PROVIDER)
            raise self._failure(path, problem)

    # -- answers ---------------------------------------------------------------------------

    def _image(self, response: httpx.Response) -> bytes:
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("image/"):
            raise EngineError(
                f"{PROVIDER} answered {content_type or 'no content type'}, not an image"
            )
        finish = response.headers.get("finish-reason", "SUCCESS").strip().upper()
        if finish == "CONTENT_FILTERED":
            # The generation ran, but the output broke the moderation policy and came back
            # blurred: nothing to deliver.
            raise ContentRefused(
                f"{PROVIDER}'s content moderation filtered the output (it came back blurred)"
            )
        if finish != "SUCCESS":
            raise EngineError(f"{PROVIDER} finished with {finish[:40]!r}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > hosted.MAX_OUTPUT_BYTES:
                raise EngineError(f"{PROVIDER}'s image is too large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _problem(self, response: httpx.Response) -> Problem:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ERROR_BYTES:
                break
        name = message = problem_id = ""
        try:
            payload = json.loads(body[:MAX_ERROR_BYTES])
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            name = str(payload.get("name") or "")
            problem_id = str(payload.get("id") or "")
            errors = payload.get("errors")
            if isinstance(errors, list):
                message = "; ".join(str(error) for error in errors)
            elif isinstance(payload.get("message"), str):
                message = payload["message"]
        message = " ".join(message.split())[:300]
        return Problem(
            response.status_code,
            name[:60],
            self._redact(message),
            problem_id[:64],
            response.headers.get("Retry-After"),
        )

    def _redact(self, text: str) -> str:
        key = self.config.api_key.strip()
        return text.replace(key, "[key]") if key else text

    def _failure(self, path: str, problem: Problem) -> EngineError:
        status, name = problem.status, problem.name
        if status == 403 and name == "content_moderation":
            return ContentRefused(f"{PROVIDER}'s content moderation: {problem.message or name}")
        if status == 422 and name == "public_figure":
            return ContentRefused(f"{PROVIDER} refused the image: {problem.message or name}")
        if status in (401, 402, 403):
            # The key is wrong, lacks permission or its account has no credits: an operator's
            # problem. They get the detail; the user a message without any of the key.
            log.error(
                "%s refused this server's API key on %s: %s (id %s)",
                PROVIDER,
                path,
                problem,
                problem.id or "none",
            )
            what = "has no credits left" if status == 402 else "was refused"
            return EngineUnavailable(
                f"{PROVIDER} cannot take work: this server's API key {what} (see the server log)"
            )
        if status >= 500:
            log.warning(
                "%s failed on %s: %s (id %s); not retried",
                PROVIDER,
                path,
                problem,
                problem.id or "none",
            )
            return EngineError(
                f"{PROVIDER} failed ({problem}); the request was not retried so that it cannot "
                "be charged twice"
            )
        if status == 413:
            return EngineError(f"the request was larger than {PROVIDER} accepts ({problem})")
        return EngineError(f"{PROVIDER} refused the request ({problem})")
