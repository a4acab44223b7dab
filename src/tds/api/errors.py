"""One place that turns every failure into `{"error": {"code", "message", ...}}`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tds.exceptions import TdsError
from tds.kit import request_id

log = logging.getLogger("tds.server")

# Framework errors (routing, methods, body limits) mapped onto our codes.
_HTTP_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "invalid_request",
    422: "invalid_request",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, snake_case: what went wrong, for programs.")
    message: str = Field(description="A sentence a person can act on.")
    param: str | None = Field(default=None, description="The offending field, when there is one.")
    request_id: str = Field(
        description="This request's id, as in the X-Request-Id header: quote it to support."
    )


class ErrorBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "insufficient_credits",
                        "message": "This costs 10 credits and the account has 4 available. …",
                        "request_id": "req_5f0c1a9e2b7d4c3a8e6f1b2d",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """`{"error": {...}}`, with the id of the request being served (every error path builds
    its body here, so every error body carries it)."""
    detail = {"code": code, "message": message, **extra}
    if (rid := request_id.get()) is not None:
        detail.setdefault("request_id", rid)
    return {"error": detail}


def error_payload(error: TdsError) -> dict[str, Any]:
    return error_body(error.code, error.message, **error.extra)


def error_response(error: TdsError) -> JSONResponse:
    return JSONResponse(error_payload(error), status_code=error.status, headers=error.headers)


def _describe(errors: list[Any]) -> tuple[str, str | None]:
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    param = ".".join(location) or None
    message = str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if first.get("type") == "missing":
        message = "this field is required"
    elif first.get("type") == "extra_forbidden":
        message = "unknown field; see /docs for the accepted fields"
    elif first.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None
    text = f"{param}: {message}" if param else message[:1].upper() + message[1:]
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text + ("" if text.endswith(".") else "."), param


def install(app: FastAPI) -> None:
    @app.exception_handler(TdsError)
    async def _tds_error(_request: Request, error: TdsError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        message, param = _describe(list(error.errors()))
        extra = {"param": param} if param else {}
        return JSONResponse(error_body("invalid_request", message, **extra), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        status = error.status_code
        code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
        message = {
            404: "No such endpoint. The API lives under /api/v1; see /docs.",
            405: "This endpoint does not accept that HTTP method; see /docs.",
            413: "The request body is too large.",
        }.get(status) or (str(error.detail) if error.detail else HTTPStatus(status).phrase)
        return JSONResponse(
            error_body(code, message), status_code=status, headers=dict(error.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(
                "internal_error",
                "Something went wrong on our side; nothing was charged. Try again in a moment.",
            ),
            status_code=500,
        )
