"""A small client for Replicate's predictions API over httpx, with a retry policy that never
creates a prediction twice.

Creating a prediction is the one call that costs money and is not idempotent (the API has
no idempotency key), so it is retried only when the request provably never reached the
service: the connection could not be opened, or the answer was 429 (throttled before
anything was created). Any other failure of a create (a timeout after the body was sent,
a dropped connection, a 5xx) may have created a prediction whose id we never learnt, so it
is not retried: the job fails and the server refunds it, and the `Cancel-After` header sent
with every create bounds what such an orphan can run and cost. Everything after the create
(polling, cancel, file upload, output download) is idempotent and retried with backoff.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tds.engines.base import EngineError
from tds.engines.remote.config import RemoteConfig

log = logging.getLogger(__name__)

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
_THROTTLE = re.compile(r"~?\s*(\d+(?:\.\d+)?)\s*s")


@dataclass(frozen=True)
class Prediction:
    id: str
    status: str
    output: Any
    error: str
    logs: str
    get_url: str
    cancel_url: str

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _detail(response: httpx.Response) -> str:
    """A short, safe reason from an error answer (its JSON `detail`/`title`, or status)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("detail", "title", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return f"HTTP {response.status_code}: {body[key][:200]}"
    return f"HTTP {response.status_code}"


class ReplicateClient:
    def __init__(
        self,
        config: RemoteConfig,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.base = config.base_url.rstrip("/")
        self._origin = _origin(self.base)
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.request_timeout_seconds),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "tds-remote-engine"},
        )

    def close(self) -> None:
        self._http.close()

    # -- helpers ---------------------------------------------------------------------------

    def _auth(self, url: str) -> dict[str, str]:
        """The token goes to the API's own origin only, never to a file host."""
        if _origin(url) == self._origin and self.config.token:
            return {"Authorization": f"Bearer {self.config.token}"}
        return {}

    def _backoff(self, attempt: int, deadline: float, response: httpx.Response | None) -> bool:
        """Sleep before retry `attempt` (1-based); False when no retry fits the deadline."""
        if attempt > self.config.retries:
            return False
        delay = min(8.0, min(1.0, self.config.poll_seconds) * 2 ** (attempt - 1))
        if response is not None and response.status_code == 429:
            delay = max(delay, _retry_after(response))
        if self._clock() + delay >= deadline:
            return False
        self._sleep(delay)
        return True

    def _prediction(self, response: httpx.Response) -> Prediction:
        try:
            body = response.json()
            urls = body.get("urls") or {}
            prediction_id = str(body["id"])
            status = str(body["status"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EngineError("the hosted model service sent an unreadable answer") from None
        return Prediction(
            id=prediction_id,
            status=status,
            output=body.get("output"),
            error=str(body.get("error") or ""),
            logs=str(body.get("logs") or ""),
            get_url=self._own(urls.get("get"), f"{self.base}/predictions/{prediction_id}"),
            cancel_url=self._own(
                urls.get("cancel"), f"{self.base}/predictions/{prediction_id}/cancel"
            ),
        )

    def _own(self, url: Any, fallback: str) -> str:
        """A URL from an answer, used only when it is on the API's origin."""
        if isinstance(url, str) and _origin(url) == self._origin:
            return url
        return fallback

    # -- the calls -------------------------------------------------------------------------

    def create(self, model: str, model_input: Any, deadline: float) -> Prediction:
        """Start a prediction (Prefer: wait holds the answer up to wait_seconds)."""
        name, _, version = model.partition(":")
        if name.startswith("deployments/"):
            url, body = f"{self.base}/{name}/predictions", {"input": model_input}
        elif version:
            url, body = f"{self.base}/predictions", {"version": version, "input": model_input}
        else:
            url, body = f"{self.base}/models/{name}/predictions", {"input": model_input}
        remaining = max(5, math.ceil(deadline - self._clock()))
        headers = {**self._auth(url), "Cancel-After": f"{remaining}s"}
        if self.config.wait_seconds:
            headers["Prefer"] = f"wait={self.config.wait_seconds}"
        timeout = httpx.Timeout(
            self.config.request_timeout_seconds,
            read=self.config.request_timeout_seconds + self.config.wait_seconds,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.post(url, json=body, headers=headers, timeout=timeout)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                # Nothing was sent: a retry cannot create a second prediction.
                log.warning("create: no connection (%s), attempt %d", error, attempt)
                if self._backoff(attempt, deadline, None):
                    continue
                raise EngineError("the hosted model service could not be reached") from None
            except httpx.TransportError as error:
                # Sent, answer lost: a prediction may exist. Never retried (see module doc).
                log.warning("create: %s after sending; not retried", type(error).__name__)
                raise EngineError(
                    "the hosted model service did not answer; the job was not retried "
                    "so that it cannot run twice"
                ) from None
            if response.status_code == 429 and self._backoff(attempt, deadline, response):
                continue
            if response.status_code in (200, 201, 202):
                return self._prediction(response)
            if response.status_code >= 500:
                log.warning("create: %s; not retried", _detail(response))
                raise EngineError(
                    f"the hosted model service failed ({_detail(response)}); the job was not "
                    "retried so that it cannot run twice"
                )
            raise EngineError(f"the hosted model service refused the job ({_detail(response)})")

    def _idempotent(
        self, method: str, url: str, deadline: float, what: str, **kwargs: Any
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, headers=self._auth(url), **kwargs)
            except httpx.TransportError as error:
                log.warning("%s: %s, attempt %d", what, type(error).__name__, attempt)
                if self._backoff(attempt, deadline, None):
                    continue
                raise EngineError(f"the hosted model service stopped answering ({what})") from None
            if response.status_code == 429 or response.status_code >= 500:
                log.warning("%s: %s, attempt %d", what, _detail(response), attempt)
                if self._backoff(attempt, deadline, response):
                    continue
                raise EngineError(f"the hosted model service failed ({what}: {_detail(response)})")
            if response.status_code >= 400:
                raise EngineError(f"the hosted model service refused {what} ({_detail(response)})")
            return response

    def get(self, prediction: Prediction, deadline: float) -> Prediction:
        response = self._idempotent("GET", prediction.get_url, deadline, "status")
        return self._prediction(response)

    def cancel(self, prediction: Prediction) -> bool:
        """Best effort, retried: True when the service took the cancel."""
        deadline = self._clock() + max(5.0, self.config.request_timeout_seconds)
        try:
            self._idempotent("POST", prediction.cancel_url, deadline, "cancel")
        except EngineError as error:
            log.warning("cancel of prediction %s failed: %s", prediction.id, error)
            return False
        return True

    def upload(self, data: bytes, content_type: str, deadline: float) -> str:
        """Put an input file on the files API; its URL goes into the model input."""
        suffix = content_type.rpartition("/")[2]
        files = {"content": (f"input.{suffix}", data, content_type)}
        response = self._idempotent("POST", f"{self.base}/files", deadline, "upload", files=files)
        try:
            url = response.json()["urls"]["get"]
        except (ValueError, KeyError, TypeError):
            raise EngineError("the hosted model service did not store the input") from None
        if not isinstance(url, str):
            raise EngineError("the hosted model service did not store the input")
        return url

    def download(self, url: str, deadline: float) -> bytes:
        """An output file, from an http(s) URL or a data URI, within max_output_bytes."""
        limit = self.config.max_output_bytes
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            try:
                data = (
                    base64.b64decode(payload, validate=True)
                    if header.endswith(";base64")
                    else payload.encode()
                )
            except (binascii.Error, ValueError):
                raise EngineError("the hosted model returned a malformed file") from None
            if len(data) > limit:
                raise EngineError("the hosted model's output is too large")
            return data
        if urlsplit(url).scheme not in ("https", "http"):
            raise EngineError("the hosted model returned no downloadable file")
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._http.stream("GET", url, headers=self._auth(url)) as response:
                    if response.status_code == 429 or response.status_code >= 500:
                        if self._backoff(attempt, deadline, response):
                            continue
                        raise EngineError(f"the output could not be fetched ({_detail(response)})")
                    if response.status_code != 200:
                        raise EngineError(
                            f"the output could not be fetched (HTTP {response.status_code})"
                        )
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise EngineError("the hosted model's output is too large")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.TransportError as error:
                log.warning("download: %s, attempt %d", type(error).__name__, attempt)
                if self._backoff(attempt, deadline, None):
                    continue
                raise EngineError("the output could not be fetched") from None


def _retry_after(response: httpx.Response) -> float:
    """Seconds to wait after a 429: the Retry-After header, else "resets in ~30s" in the body."""
    header = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    match = _THROTTLE.search(response.text[:500])
    return float(match.group(1)) if match else 1.0
