"""HTTP over urllib.request with retries: the only module that touches the network.

A request is retried when no answer came (refused, reset, dropped mid-answer, timed out) and on
429, 500, 503 and 504 (and a 502 that is not the engine's `model_failed`, such as a proxy's
"bad gateway"). Waits honour `Retry-After` (capped), else back off exponentially with jitter.
Only requests that are safe to repeat are retried: reads, and POSTs that carry an
Idempotency-Key (the server replays the first answer to a repeat, so nothing runs or is charged
twice).
"""

from __future__ import annotations

import http.client
import json
import platform
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import TdsConnectionError, TdsError, error_code

VERSION = "0.1.0"
USER_AGENT = f"tds-python/{VERSION} python/{platform.python_version()}"

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_NETWORK_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    url: str
    attempts: int = 1  # how many times it was sent

    def json(self) -> Any:
        """The body as JSON; {} for an error answer that is not JSON (a proxy's page)."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            if self.status >= 400:
                return {}
            raise TdsError(
                f"The server at {self.url} answered something that is not JSON.",
                code="invalid_response",
                status=self.status,
            ) from None


def _retryable(response: Response) -> bool:
    if response.status not in RETRY_STATUSES:
        return False
    if response.status == 502:
        # model_failed is the render's final answer (its credits were refunded), not a hiccup.
        code, _ = error_code(response.json())
        return code != "model_failed"
    return True


def _transient(error: BaseException) -> bool:
    reason = getattr(error, "reason", error)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return False
    # URLError with a text reason: "unknown url type" and the like; repeating cannot help.
    return not isinstance(reason, str)


def _too_large_hint(error: BaseException, data: bytes | None) -> str:
    # A server refuses an oversized body by its Content-Length and closes the connection;
    # urllib is still sending, so it sees a reset instead of the 413 answer.
    reason = getattr(error, "reason", error)
    if isinstance(reason, (ConnectionResetError, BrokenPipeError)) and len(data or b"") > 1e6:
        return (
            f" The server may have refused a {len(data or b'') / 1e6:.0f} MB request as too "
            "large: images are limited to 25 MB unless the server says otherwise."
        )
    return ""


def _describe(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    if isinstance(error, urllib.error.URLError) and reason is not None:
        error = reason if isinstance(reason, BaseException) else error
    text = str(error) or type(error).__name__
    if isinstance(error, http.client.RemoteDisconnected):
        text = "the connection was closed before an answer came"
    return text


class Transport:
    """Sends requests to one server; safe to share between threads (no connection pool)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 60.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.user_agent = user_agent
        self.sleep = sleep
        self._opener = urllib.request.build_opener()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> Response:
        """Send `method path` and return the answer, whatever its status; retried as the
        module says when `retry`. TdsConnectionError when no answer came at all.

        `path` is relative to the base URL and carries the API key; an absolute URL (a file)
        is fetched without it.
        """
        absolute = path.startswith(("http://", "https://"))
        url = path if absolute else self.base_url + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        sent = {"User-Agent": self.user_agent, "Accept": "application/json, */*"}
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode()
            content_type = "application/json"
        if content_type:
            sent["Content-Type"] = content_type
        if self.api_key and not absolute:
            sent["Authorization"] = f"Bearer {self.api_key}"
        sent.update(headers or {})
        attempts = self.max_attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._send(method, url, data, sent, timeout or self.timeout)
            except _NETWORK_ERRORS as error:
                if attempt >= attempts or not _transient(error):
                    tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise TdsConnectionError(
                        f"No answer from {urllib.parse.urlsplit(url).netloc}: "
                        f"{_describe(error)}{tries}.{_too_large_hint(error, data)}"
                    ) from error
                self.sleep(self._backoff(attempt))
                continue
            if attempt < attempts and _retryable(response):
                self.sleep(self._delay(response, attempt))
                continue
            response.attempts = attempt
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: float
    ) -> Response:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, _headers(answer.headers), answer.read(), url)
        except urllib.error.HTTPError as error:
            try:
                body = error.fp.read() if error.fp is not None else b""
            finally:
                error.close()
            return Response(error.code, _headers(error.headers), body, url)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)  # jitter: a batch's retries do not march

    def _delay(self, response: Response, attempt: int) -> float:
        value = response.headers.get("retry-after", "")
        try:
            return min(self.max_retry_after, max(0.0, float(value)))
        except ValueError:
            return self._backoff(attempt)


def _headers(message: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (message.items() if message else [])}
