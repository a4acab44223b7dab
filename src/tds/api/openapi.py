"""Shared OpenAPI pieces: documented error responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tds.api.errors import ErrorBody

_DESCRIPTIONS = {
    400: "Bad request: invalid_request, invalid_image, image_url_unfetchable, kind_unavailable.",
    401: "invalid_api_key: missing, malformed, unknown or revoked key.",
    402: "insufficient_credits: the balance does not cover the cost; monthly_cap_reached: your "
    "monthly cap in the team does not.",
    403: "plan_limit: the plan does not include this kind or resolution; forbidden: your role "
    "in the team does not allow this.",
    404: "not_found: no such resource for this account.",
    409: "idempotency_conflict, or render_finished for a cancel.",
    413: "payload_too_large: the body or image is over the limit.",
    429: "rate_limited: slow down; see Retry-After.",
    502: "model_failed: the engine failed; the credits were refunded.",
    503: "model_unavailable: the render queue is full; retry later.",
}


def without_validation_422(app: FastAPI) -> None:
    """Validation errors are 400 here, never 422: drop FastAPI's generated 422 entries."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path in schema["paths"].values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            components = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        for status in (401, 429, *statuses)
    }
