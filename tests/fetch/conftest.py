"""Fetch tests never send a packet off this machine.

* `network_guard` (autouse) fails the test on any TCP connect to a non-loopback address and on
  any name lookup that would need DNS; it also records every connect for assertions.
* Names resolve through `FakeResolver` (a dict host → addresses) injected into ImageFetcher.
* `origin` is a real HTTP server on 127.0.0.1 with hostile and friendly routes; `canary` is a
  second one that nothing may ever reach (checked after every test).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

PNG = BytesIO()
Image.new("RGB", (32, 32), (200, 30, 30)).save(PNG, "PNG")
PNG_BYTES = PNG.getvalue()
TRICKLE_INTERVAL = 0.2


# ---- socket and DNS guard --------------------------------------------------------------------


@dataclass
class NetworkGuard:
    connects: list[tuple[str, int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check_connect(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        host, port = str(address[0]), int(address[1])
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            ip = None
        with self.lock:
            self.connects.append((host, port))
            if ip is None or not ip.is_loopback:
                self.violations.append(f"connect to {address!r}")
                raise OSError(f"test network guard: connect to {address!r} refused")

    def connects_to(self, port: int) -> list[tuple[str, int]]:
        return [c for c in self.connects if c[1] == port]


def _needs_dns(host: object) -> bool:
    if host is None:
        return False
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.split("%")[0])
        return False
    except ValueError:
        pass
    try:
        socket.inet_aton(text)  # numeric IPv4 forms (2130706433, 0x7f000001, 127.1): no DNS
        return False
    except OSError:
        return True


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        guard.check_connect(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard.check_connect(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if _needs_dns(host):
            with guard.lock:
                guard.violations.append(f"DNS lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "test network guard: no DNS")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard
    assert not guard.violations, f"left the machine: {guard.violations}"


# ---- test resolver ---------------------------------------------------------------------------


class FakeResolver:
    """host → addresses; a list of lists answers each lookup in turn (DNS rebinding)."""

    def __init__(self, table: dict[str, list[str] | list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answer = self.table.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answer and isinstance(answer[0], list):
            sequence: list[list[str]] = answer  # type: ignore[assignment]
            return list(sequence.pop(0) if len(sequence) > 1 else sequence[0])
        return list(answer)  # type: ignore[arg-type]


# ---- servers ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler: each one is bounded
    block_on_close = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.connections = 0
        self.paths: list[str] = []
        self.canary_port = 0
        self.cookie_headers: list[str | None] = []
        self._count_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self._count_lock:
            self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up on purpose (size caps, deadlines)


class _BaseHandler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a client that stops reading cannot pin a handler thread

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _headers(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _stream_for(self, seconds: float) -> None:
        chunk = b"\x00" * 65536
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                self.wfile.write(chunk)
        except OSError:
            pass


class _CanaryHandler(_BaseHandler):
    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self._headers(200, {"Content-Type": "image/png", "Content-Length": str(len(PNG_BYTES))})
        self.wfile.write(PNG_BYTES)

    do_POST = do_GET


class _OriginHandler(_BaseHandler):
    def _redirect(self, location: str, status: int = 302) -> None:
        self._headers(status, {"Location": location, "Content-Length": "0"})

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.server.cookie_headers.append(self.headers.get("Cookie"))
        path = self.path.split("?")[0]
        canary = self.server.canary_port
        if path == "/ok.png":
            self._headers(200, {"Content-Type": "image/png", "Content-Length": str(len(PNG_BYTES))})
            self.wfile.write(PNG_BYTES)
        elif path == "/cookie":
            self._headers(
                200,
                {
                    "Content-Type": "image/png",
                    "Content-Length": str(len(PNG_BYTES)),
                    "Set-Cookie": "session=attacker; Path=/",
                },
            )
            self.wfile.write(PNG_BYTES)
        elif path == "/octet":
            self._headers(
                200,
                {"Content-Type": "application/octet-stream", "Content-Length": str(len(PNG_BYTES))},
            )
            self.wfile.write(PNG_BYTES)
        elif path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            self._redirect("/ok.png" if left <= 1 else f"/redirect/{left - 1}", 301 + left % 3)
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
        elif path == "/to-metadata-v6":
            self._redirect("http://[::ffff:a9fe:a9fe]/latest/meta-data/", 307)
        elif path == "/to-internal":
            self._redirect(f"http://internal.test:{self.server.port}/ok.png", 308)
        elif path == "/to-canary-port":
            self._redirect(f"http://images.test:{canary}/ok.png")
        elif path == "/to-canary-ip":
            self._redirect(f"http://127.0.0.1:{canary}/ok.png")
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path == "/to-gopher":
            self._redirect(f"gopher://127.0.0.1:{canary}/_GET%20/")
        elif path == "/to-userinfo":
            self._redirect(f"http://user:secret@images.test:{self.server.port}/ok.png")
        elif path == "/redirect-endless-body":
            self._headers(302, {"Location": "/ok.png", "Content-Type": "text/html"})
            self._stream_for(5)
        elif path == "/endless":
            self._headers(200, {"Content-Type": "image/png"})
            self._stream_for(5)
        elif path == "/big":
            self._headers(200, {"Content-Type": "image/png", "Content-Length": str(10**9)})
            self._stream_for(5)
        elif path == "/trickle":
            self._headers(200, {"Content-Type": "image/png", "Content-Length": "100"})
            try:
                for _ in range(30):  # at most 6 s, then the thread ends by itself
                    self.wfile.write(b"\x00")
                    self.wfile.flush()
                    time.sleep(TRICKLE_INTERVAL)
            except OSError:
                pass
        elif path == "/html":
            body = b"<html><script>alert(1)</script></html>"
            self._headers(200, {"Content-Type": "text/html", "Content-Length": str(len(body))})
            self.wfile.write(body)
        elif path == "/no-type":
            self._headers(200, {"Content-Length": str(len(PNG_BYTES))})
            self.wfile.write(PNG_BYTES)
        elif path == "/gzip":
            self._headers(
                200,
                {
                    "Content-Type": "image/png",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(PNG_BYTES)),
                },
            )
            self.wfile.write(PNG_BYTES)
        elif path == "/empty":
            self._headers(200, {"Content-Type": "image/png", "Content-Length": "0"})
        elif path == "/not-modified":
            self._headers(304, {})
        else:
            self._headers(404, {"Content-Type": "text/plain", "Content-Length": "0"})


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[_Server, threading.Thread]:
    server = _Server(handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def canary() -> Iterator[_Server]:
    server, thread = _serve(_CanaryHandler)
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="session")
def origin(canary: _Server) -> Iterator[_Server]:
    server, thread = _serve(_OriginHandler)
    server.canary_port = canary.port
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def canary_never_hit(canary: _Server) -> Iterator[None]:
    before = canary.connections
    yield
    assert canary.connections == before, f"canary reached: {canary.paths}"
