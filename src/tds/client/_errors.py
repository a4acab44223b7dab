"""One exception class per documented error code, built from the server's error body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TdsError(Exception):
    """Base of every error the client raises: `code`, `message`, HTTP `status` and `body`.

    `status` is None when no answer came (TdsConnectionError, RenderTimeout); `body` is the
    server's JSON answer (`{"error": {...}}`) or an empty dict; `param` names the offending
    field when the server said which; `retry_after` is the server's Retry-After in seconds;
    `request_id` is the id the server gave the request (quote it to support), when it answered.
    """

    code: str = "error"
    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.body: dict[str, Any] = dict(body or {})
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        detail = self.body.get("error")
        self.param: str | None = detail.get("param") if isinstance(detail, dict) else None
        found = detail.get("request_id") if isinstance(detail, dict) else None
        self.request_id: str | None = (
            found if isinstance(found, str) else self.headers.get("x-request-id")
        )
        self.retry_after: float | None = _seconds(self.headers.get("retry-after"))

    def __str__(self) -> str:
        where = f" ({self.status})" if self.status is not None else ""
        return f"{self.code}{where}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r})"


class TdsConnectionError(TdsError):
    """No answer from the server after every retry: refused, reset, dropped or timed out."""

    code = "connection_error"


class RenderTimeout(TdsError):
    """The render did not finish within the `timeout` given; it goes on on the server.

    `render` is its last known state: wait again with `client.wait(error.render)` or
    `client.cancel(error.render)`.
    """

    code = "timeout"

    def __init__(self, message: str, *, render: Any) -> None:
        super().__init__(message)
        self.render = render


class InvalidRequest(TdsError):
    status = 400
    code = "invalid_request"


class InvalidImage(InvalidRequest):
    code = "invalid_image"


class ImageUrlUnfetchable(InvalidRequest):
    code = "image_url_unfetchable"


class KindUnavailable(InvalidRequest):
    code = "kind_unavailable"


class InvalidApiKey(TdsError):
    status = 401
    code = "invalid_api_key"


class InsufficientCredits(TdsError):
    status = 402
    code = "insufficient_credits"


class MonthlyCapReached(InsufficientCredits):
    """The team has the credits, but the member's monthly cap in it (set by the team's owners
    and admins) does not cover this render; `cap` and `cap_left` say how far it goes."""

    code = "monthly_cap_reached"

    @property
    def cap(self) -> int | None:
        return self._detail_int("cap")

    @property
    def cap_left(self) -> int | None:
        return self._detail_int("cap_left")

    def _detail_int(self, name: str) -> int | None:
        detail = self.body.get("error")
        value = detail.get(name) if isinstance(detail, dict) else None
        return value if isinstance(value, int) else None


class PlanLimit(TdsError):
    status = 403
    code = "plan_limit"


class NotFound(TdsError):
    status = 404
    code = "not_found"


class IdempotencyConflict(TdsError):
    status = 409
    code = "idempotency_conflict"


class RenderFinished(TdsError):
    status = 409
    code = "render_finished"


class PayloadTooLarge(TdsError):
    status = 413
    code = "payload_too_large"


class RateLimited(TdsError):
    status = 429
    code = "rate_limited"


class InternalError(TdsError):
    status = 500
    code = "internal_error"


class ModelFailed(TdsError):
    """The render failed (or timed out, or was interrupted) on the server; its credits were
    refunded. `render_id` names it; `render` is the failed render when the client has it."""

    status = 502
    code = "model_failed"

    def __init__(
        self,
        message: str,
        *,
        render_id: str | None = None,
        render: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        detail = self.body.get("error")
        found = detail.get("render_id") if isinstance(detail, dict) else None
        self.render_id: str | None = render_id or found or getattr(render, "id", None)
        self.render = render


class ModelUnavailable(TdsError):
    status = 503
    code = "model_unavailable"


_BY_CODE: dict[str, type[TdsError]] = {
    cls.code: cls
    for cls in (
        InvalidRequest,
        InvalidImage,
        ImageUrlUnfetchable,
        KindUnavailable,
        InvalidApiKey,
        InsufficientCredits,
        MonthlyCapReached,
        PlanLimit,
        NotFound,
        IdempotencyConflict,
        RenderFinished,
        PayloadTooLarge,
        RateLimited,
        InternalError,
        ModelFailed,
        ModelUnavailable,
    )
}

# Codes this client does not know (a newer server, a proxy's page) map by status.
_BY_STATUS: dict[int, type[TdsError]] = {
    400: InvalidRequest,
    401: InvalidApiKey,
    402: InsufficientCredits,
    404: NotFound,
    405: InvalidRequest,
    413: PayloadTooLarge,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def error_code(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(code, message) from `{"error": {"code", "message"}}`, or Nones."""
    detail = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(detail, dict):
        return None, None
    code, message = detail.get("code"), detail.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def from_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> TdsError:
    """The exception for an error answer."""
    code, message = error_code(body)
    cls = _BY_CODE.get(code or "")
    if cls is None:
        cls = _BY_STATUS.get(status, InternalError if status >= 500 else TdsError)
    if message is None:
        message = f"The server answered HTTP {status} without an error body."
    return cls(message, code=code or cls.code, status=status, body=body, headers=headers)


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is read as absent)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
