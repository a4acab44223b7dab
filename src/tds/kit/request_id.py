"""A request id for every request: taken from a sane `X-Request-Id`, else made here.

The id is kept in a context variable while the request runs, so error bodies
(`tds.api.errors.error_body`) and log lines (`tds.kit.logs`) carry it wherever they are
produced, and it is returned in the `X-Request-Id` header of every answer. The middleware wraps
the whole stack, Starlette's ServerErrorMiddleware included, so 500s and the answers of other
middlewares (413 from BodyLimit) carry it too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
if TYPE_CHECKING:
    from fastapi import FastAPI

_HEADER_KEY = HEADER.lower().encode()
# What an incoming id may look like: ids from a proxy or a client's own tracing (UUIDs,
# 32-hex trace ids) pass; anything that could forge a log line or a header does not.
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,64}")

current: ContextVar[str | None] = ContextVar("tds_request_id", default=None)


def get() -> str | None:
    """The id of the request being served, or None outside a request."""
    return current.get()


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER_KEY:
            return value.decode("ascii") if _SANE.fullmatch(value) else None
    return None


class RequestId:
    """Pure ASGI: sets the id for the request and adds `X-Request-Id` to its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or new_request_id()
        header = (_HEADER_KEY, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != _HEADER_KEY
                ]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        token = current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current.reset(token)


def wrap_outermost(app: FastAPI, *middlewares: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put `middlewares` (first = outermost) around the app's whole stack, outside the
    ServerErrorMiddleware that `add_middleware` cannot reach, so that they see every answer."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        stack = build()
        for middleware in reversed(middlewares):
            stack = middleware(stack)
        return stack

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]
