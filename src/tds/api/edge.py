"""The one pure-ASGI layer around the whole stack, Starlette's 500 handler included, so every
answer passes it: it sets the request id (and returns it in `X-Request-Id`), adds the security
headers, and counts the answer with its final status and duration.

One layer rather than one per concern: each layer costs every request a call and a `send`
wrapper, and /api/v1/me is short enough for that to show.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tds.api.headers import add_security_headers
from tds.api.metrics import Metrics
from tds.kit import request_id


class Edge:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root = scope.get("root_path", "")
        rid = request_id.incoming(scope["headers"]) or request_id.new_request_id()
        id_header = (request_id.HEADER_KEY, rid.encode("ascii"))
        path: str = scope["path"]
        status = "none"  # the client left before an answer started

        async def send_answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != request_id.HEADER_KEY
                ]
                headers.append(id_header)
                add_security_headers(path, headers)
                message["headers"] = headers
            await send(message)

        token = request_id.current.set(rid)
        try:
            await self.app(scope, receive, send_answer)
        finally:
            request_id.current.reset(token)
            self.metrics.observe(scope, root, status, time.perf_counter() - started)
