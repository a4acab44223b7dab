"""One place that turns every failure into `{"error": {"code", "message", ...}}`.

A browser asking the dashboard for a page gets a page instead: `install(app, pages=…)` is given
the dashboard's renderer (tds.web.errors), which answers None for everything else, /api/v1
included, so the API's errors stay JSON always.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
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


@dataclass(frozen=True)
class Problem:
    """An error as the handlers describe it, before it becomes JSON (or a page)."""

    status: int
    code: str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> JSONResponse:
        return JSONResponse(
            error_body(self.code, self.message, **self.extra),
            status_code=self.status,
            headers=dict(self.headers),
        )


# The dashboard's error pages: a page for `request`, or None for the JSON answer.
Pages = Callable[[Request, Exception, Problem], Awaitable[Response | None]]

UNEXPECTED = "Something went wrong on our side; nothing was charged. Try again in a moment."


def install(app: FastAPI, *, pages: Pages | None = None) -> None:
    async def answer(request: Request, error: Exception, problem: Problem) -> Response:
        if pages is not None and (page := await pages(request, error, problem)) is not None:
            return page
        return problem.json()

    @app.exception_handler(TdsError)
    async def _tds_error(request: Request, error: TdsError) -> Response:
        problem = Problem(error.status, error.code, error.message, error.extra, error.headers)
        return await answer(request, error, problem)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> Response:
        message, param = _describe(list(error.errors()))
        extra = {"param": param} if param else {}
        return await answer(request, error, Problem(400, "invalid_request", message, extra))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        status = error.status_code
        code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
        message = {
            404: "No such endpoint. The API lives under /api/v1; see /docs.",
            405: "This endpoint does not accept that HTTP method; see /docs.",
            413: "The request body is too large.",
        }.get(status) or (str(error.detail) if error.detail else HTTPStatus(status).phrase)
        problem = Problem(status, code, message, headers=dict(error.headers or {}))
        return await answer(request, error, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return await answer(request, error, Problem(500, "internal_error", UNEXPECTED))
