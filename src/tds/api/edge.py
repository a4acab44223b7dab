"""The one pure-ASGI layer around the whole stack, Starlette's 500 handler included, so every
answer passes it: it sets the request id (and returns it in `X-Request-Id`), adds the security
headers (and `Cache-Control: no-store` where the answer sets none), and counts the answer
with its final status and duration.

One layer rather than one per concern: each layer costs every request a call and a `send`
wrapper, and /api/v1/me is short enough for that to show.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tds.api.headers import add_security_headers
from tds.api.metrics import Metrics
from tds.kit import request_id

# Answers are private unless they say otherwise: /api/v1 JSON and the signed-in dashboard's pages
# must never sit in a shared cache or the browser's history. /files/ and /static keep their own
# (long-lived) caching and get nothing here.
NO_STORE = (b"cache-control", b"no-store")
_OWN_CACHING = ("/files/", "/static/")


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
        no_store = not path.startswith(_OWN_CACHING)
        status = "none"  # the client left before an answer started

        async def send_answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
                headers = []
                cached = False
                for name, value in message.get("headers", []):
                    lower = name.lower()
                    if lower == request_id.HEADER_KEY:
                        continue
                    cached = cached or lower == b"cache-control"
                    headers.append((name, value))
                headers.append(id_header)
                if no_store and not cached:
                    headers.append(NO_STORE)
                add_security_headers(path, headers)
                message["headers"] = headers
            await send(message)

        token = request_id.current.set(rid)
        try:
            await self.app(scope, receive, send_answer)
        finally:
            request_id.current.reset(token)
            self.metrics.observe(scope, root, status, time.perf_counter() - started)
