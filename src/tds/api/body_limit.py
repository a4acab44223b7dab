"""Limit request bodies, answering with our JSON error.

A declared Content-Length over the limit is refused before anything is read; a chunked body
raises PayloadTooLarge from `receive` as soon as it passes the limit, which the error handlers
render like any other error. (Starlette's own limit answers in plain text.)
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tds.api.errors import error_body
from tds.exceptions import PayloadTooLarge

DRAIN_LIMIT = 256 * 1024 * 1024  # larger declared bodies are refused without reading them


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.message = (
            f"The request body is larger than {max_body_size / 1e6:.3g} MB. Send a smaller image "
            "(PNG, JPEG or WebP; JPEG is smaller)."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_size:
                # Read (and drop) a body of reasonable size first: a client still sending when
                # the connection closes sees a reset instead of this answer.
                if int(value) <= DRAIN_LIMIT:
                    await self._drain(receive)
                await self._refuse(send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_size:
                raise PayloadTooLarge(self.message)
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    async def _drain(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                return

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(error_body("payload_too_large", self.message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
