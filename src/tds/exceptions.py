"""Every error the service raises, each with its HTTP status and stable code.

    TdsError
    ├── InvalidRequest          400 invalid_request
    │   ├── InvalidImage        400 invalid_image
    │   ├── ImageUrlUnfetchable 400 image_url_unfetchable
    │   └── KindUnavailable     400 kind_unavailable
    ├── InvalidApiKey           401 invalid_api_key
    ├── LoginRequired           401 login_required (dashboard; pages redirect to /login)
    ├── InsufficientCredits     402 insufficient_credits
    │   └── MonthlyCapReached   402 monthly_cap_reached (a team member's own cap)
    ├── PlanLimit               403 plan_limit
    ├── Forbidden               403 forbidden (dashboard: missing CSRF token, cross-site form)
    ├── NotFound                404 not_found
    ├── IdempotencyConflict     409 idempotency_conflict
    ├── RenderFinished          409 render_finished (cancel after the end)
    ├── PayloadTooLarge         413 payload_too_large
    ├── RateLimited             429 rate_limited
    ├── InternalError           500 internal_error
    ├── ModelFailed             502 model_failed
    ├── PaymentProviderFailed   502 payment_provider_failed (Stripe refused or is down)
    └── ModelUnavailable        503 model_unavailable

They are rendered into `{"error": {"code", "message", ...}}` in one place (tds.api.errors).
"""

from __future__ import annotations

from typing import Any, ClassVar


class TdsError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.extra = extra  # more fields for the error object, e.g. param, render_id


class InvalidRequest(TdsError):
    status = 400
    code = "invalid_request"


class InvalidImage(InvalidRequest):
    code = "invalid_image"


class ImageUrlUnfetchable(InvalidRequest):
    code = "image_url_unfetchable"

    def __init__(self) -> None:
        # One identical body for every cause, so the endpoint cannot be used as a port scanner.
        super().__init__(
            "The image_url could not be fetched. Use a public http(s) URL on port 80 or 443 that "
            "serves a PNG, JPEG or WebP image, or upload the image with POST /api/v1/uploads.",
            param="image_url",
        )


class KindUnavailable(InvalidRequest):
    code = "kind_unavailable"


class InvalidApiKey(TdsError):
    status = 401
    code = "invalid_api_key"

    def __init__(self) -> None:
        super().__init__(
            "Missing, malformed, unknown or revoked API key. Send it as "
            "'Authorization: Bearer tds_live_…'; create one under Settings → API keys.",
            headers={"WWW-Authenticate": 'Bearer realm="tds"'},
        )


class LoginRequired(TdsError):
    status = 401
    code = "login_required"

    def __init__(self) -> None:
        super().__init__("Log in to continue.")


class InsufficientCredits(TdsError):
    status = 402
    code = "insufficient_credits"


class MonthlyCapReached(InsufficientCredits):
    """The team has the credits, but the member's monthly cap, set by the team, does not."""

    code = "monthly_cap_reached"


class PlanLimit(TdsError):
    status = 403
    code = "plan_limit"


class Forbidden(TdsError):
    status = 403
    code = "forbidden"


class NotFound(TdsError):
    status = 404
    code = "not_found"


class IdempotencyConflict(TdsError):
    status = 409
    code = "idempotency_conflict"


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
    status = 502
    code = "model_failed"


class PaymentProviderFailed(TdsError):
    """The payment provider refused the operator's request or could not be reached; nothing
    was charged."""

    status = 502
    code = "payment_provider_failed"


class ContentRefused(TdsError):
    """The model's provider refused the image or the prompt (its safety system)."""

    status = 400
    code = "content_refused"


class GeometryDrift(TdsError):
    """The render kept less of the input's lines than `min_fidelity` asked, twice."""

    status = 502
    code = "geometry_drift"


class ModelUnavailable(TdsError):
    status = 503
    code = "model_unavailable"


class RenderFinished(TdsError):
    status = 409
    code = "render_finished"
