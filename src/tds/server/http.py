"""How tds speaks HTTP/1.1: uvicorn's httptools protocol, bounded against oversized and slow
requests, and the one uvicorn configuration every way of serving tds uses.

uvicorn's httptools protocol accepts request heads of any size (a 150 MB header costs tens of
seconds of CPU, in quadratic byte-string joins, while the event loop serves nobody else) and
keeps a connection open as long as its client likes: one that sends nothing, or a head or a
body a byte at a time. `BoundedHttpToolsProtocol` adds, per connection:

- `TDS_HTTP_MAX_HEADER_BYTES`: a request line plus headers larger than this is answered 431
  and the connection closed. The bytes are counted per chunk the socket hands over (at most
  256 KiB), never per byte, so at most a chunk or two past the limit is parsed.
- `TDS_HTTP_MAX_HEADERS`: a request with more header fields is answered 431.
- `TDS_HTTP_HEADER_TIMEOUT_SECONDS`: a request line and headers that are not complete this long
  after the connection opened (for its first request) or after the request's first byte
  arrived (for later ones) are answered 408 and the connection closed; a connection that sent
  nothing at all is closed without an answer.
- `TDS_HTTP_MIN_BODY_BYTES_PER_SECOND`: once the header timeout has passed, a body must have
  arrived at this average rate since its request began, or the connection is closed (408
  when the answer has not started). Time the server itself holds the body up (flow control
  while the application is busy, or before a `100 Continue`) does not count against it.
- `TDS_HTTP_KEEP_ALIVE_SECONDS`: an idle keep-alive connection is closed after this long
  (uvicorn's own `timeout_keep_alive`).

It costs nothing measurable per request: uvicorn already arms one timer per response (the
keep-alive timer) and cancels it when the next request's first bytes arrive. Here that same
timer stays armed until the next request has fully arrived, and when it fires it checks which
deadline applies (idle, head, body) and re-arms itself for the one left; a request that
arrives in time only moves the cancel from uvicorn's `data_received` to `on_message_complete`.
The remaining work is a few attribute updates per chunk and per request.

The subclass leans on uvicorn's `HttpToolsProtocol` internals (written against uvicorn 0.55):
tests/hostile/test_slow_connections.py checks every bound against a real server, so an
upgrade that moves them fails there.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, ClassVar

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from tds.config import Settings
from tds.kit import request_id

log = logging.getLogger("tds.server")

# Where the parser is in the connection's current request.
_IDLE = 0  # between requests: the last one arrived whole
_HEAD = 1  # its request line and headers are arriving
_BODY = 2  # its body is arriving


class HttpLimits:
    """The HTTP connection limits of one server, from its settings."""

    __slots__ = ("header_timeout", "keep_alive", "max_header_bytes", "max_headers", "min_rate")

    def __init__(self, settings: Settings) -> None:
        self.max_header_bytes = settings.http_max_header_bytes
        self.max_headers = settings.http_max_headers
        self.header_timeout = settings.http_header_timeout_seconds
        self.keep_alive = settings.http_keep_alive_seconds
        self.min_rate = settings.http_min_body_bytes_per_second


class _Refused(Exception):
    """Raised in a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded heads and timed-out slow or idle connections.

    `limits` is set on the subclass `protocol_for` makes for each server.
    """

    limits: ClassVar[HttpLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _HEAD
        self._began = 0.0  # when the current wait for a head or body began (loop time)
        # Bytes of the current head seen so far, counted per chunk; -1 once a request arrived
        # whole inside the chunk being parsed (where the next one starts is unknown then).
        self._header_bytes = 0
        self._undercount = False  # the head began mid-chunk: its count is short of it
        self._chunk = 0  # length of the chunk being parsed
        self._body_bytes = 0  # body bytes since `_began`

    # -- the connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._began = self.loop.time()
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._unset_keepalive_if_required()

    def data_received(self, data: bytes) -> None:
        # uvicorn's, except that the keep-alive timer stays armed (see the module's docstring)
        # and the head is counted.
        if self._header_bytes < 0:
            self._header_bytes = 0
        self._chunk = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refused):
                self._answer_and_close(exc.__context__)
            else:
                self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self._unset_keepalive_if_required()  # the WebSocket protocol owns it now
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._phase == _HEAD:
            if self._header_bytes < 0:  # a request ended in this chunk and the next began
                self._header_bytes = 0
                self._undercount = True
            else:
                self._header_bytes += len(data)
                if self._header_bytes > self.limits.max_header_bytes:
                    self._answer_and_close(self._too_large())

    def _invalid(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    # -- parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase == _IDLE:  # the first request's clock started with the connection
            self._phase = _HEAD
            self._began = self.loop.time()

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            raise _Refused(
                431,
                "request_headers_too_large",
                f"The request has more than {limits.max_headers} headers.",
            )
        if (
            self._undercount or self._header_bytes + self._chunk > limits.max_header_bytes
        ) and self._head_size() > limits.max_header_bytes:
            raise self._too_large()
        self._undercount = False
        self._phase = _BODY
        self._body_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._phase = _IDLE
        self._header_bytes = -1
        # The request is in: no deadline until its answer is out (then uvicorn arms the
        # keep-alive timer). An answer already out keeps the keep-alive timer it armed.
        cycle = self.cycle
        if cycle is None or not cycle.response_complete:
            self._unset_keepalive_if_required()
        elif cycle.keep_alive:  # answered before its body was in: idle from now on
            self._arm(self.timeout_keep_alive)
        super().on_message_complete()

    def _head_size(self) -> int:
        """The current request's line and headers, in bytes (as parsed; about as sent)."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _too_large(self) -> _Refused:
        return _Refused(
            431,
            "request_headers_too_large",
            f"The request line and headers are larger than {self.limits.max_header_bytes} bytes.",
        )

    # -- deadlines --------------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(delay, self.timeout_keep_alive_handler)

    def timeout_keep_alive_handler(self) -> None:
        """The connection's one timer fired: close it if idle or slow, else wait on."""
        self.timeout_keep_alive_task = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self._phase == _IDLE:
            if cycle is None or cycle.response_complete:
                self.transport.close()  # an idle keep-alive connection
            return
        limits = self.limits
        now = self.loop.time()
        if self.flow.read_paused or (
            self._phase == _BODY and cycle is not None and cycle.waiting_for_100_continue
        ):
            # The server holds the request up, not the client: its clock starts again.
            self._began = now
            self._body_bytes = 0
            self._arm(limits.header_timeout)
            return
        if self._phase == _HEAD:
            left = self._began + limits.header_timeout - now
            if left > 0:
                self._arm(left)
            elif self._header_bytes == 0 and not self._undercount:
                self.transport.close()  # it never sent a byte
            else:
                self._time_out("headers")
            return
        due = self._began + limits.header_timeout + self._body_bytes / limits.min_rate
        if due > now:
            self._arm(max(due - now, min(limits.header_timeout, 1.0) / 4))
        else:
            self._time_out("body")

    def _time_out(self, part: str) -> None:
        log.warning(
            "Closed a connection from %s: its request %s arrived too slowly.",
            self.client[0] if self.client else "?",
            part,
        )
        refused = _Refused(408, "request_timeout", f"The request {part} arrived too slowly.")
        self._answer_and_close(refused)

    # -- answers ----------------------------------------------------------------------------

    def _answer_and_close(self, refused: _Refused) -> None:
        """Answer `refused` unless an answer is already being written, and close."""
        self._unset_keepalive_if_required()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self._phase == _BODY and cycle is not None and not cycle.response_started:
            cycle.disconnected = True  # the application's answer, if any, is dropped
            cycle.message_event.set()
            free = True
        else:  # no answer being written (one to an earlier, pipelined request would be)
            free = cycle is None or cycle.response_complete
        if free:
            rid = request_id.new_request_id()
            body = json.dumps(
                {
                    "error": {
                        "code": refused.code,
                        "message": refused.message,
                        "request_id": rid,
                    }
                }
            ).encode()
            content = [STATUS_LINE[refused.status]]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend(
                [
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                    b"cache-control: no-store\r\n",
                    b"x-request-id: " + rid.encode("ascii") + b"\r\n",
                    b"connection: close\r\n",
                    b"\r\n",
                    body,
                ]
            )
            self.transport.write(b"".join(content))
        if refused.status == 431:
            log.warning(
                "Refused a request from %s: %s",
                self.client[0] if self.client else "?",
                refused.message,
            )
        self.transport.close()


def protocol_for(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for a server with these settings' limits."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"limits": HttpLimits(settings), "__module__": __name__},
    )


def uvicorn_config(
    app: Any, settings: Settings, *, host: str, port: int, **options: Any
) -> uvicorn.Config:
    """The uvicorn configuration of every tds server: `tds serve`, the benchmark and tests.

    HTTP on the bounded protocol above; `X-Forwarded-For` and `X-Forwarded-Proto` believed
    only from `TDS_TRUSTED_PROXIES` (none by default: uvicorn's own default, 127.0.0.1, would
    let any local client pick the address it is seen, limited and logged as). `options` are
    further uvicorn settings (log configuration, loop, lifespan, …).
    """
    trusted = list(settings.trusted_proxies)
    values: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": protocol_for(settings),
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
    }
    return uvicorn.Config(app, **(values | options))
