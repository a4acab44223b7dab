"""Test tools for the SDK and its CLI: image sets, a connection-dropping proxy, a stub server."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tds.engines.base import Job, Output, Progress
from tests.support.engines import ResizeEngine
from tests.support.images import FIXTURES

FIXTURE_NAMES = ("house.png", "building.png", "room.png", "house_line.png")


def make_images(folder: Path, count: int, *, long_edge: int = 192) -> list[Path]:
    """`count` small viewport images from the fixtures, as PNG, JPEG and WebP in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    formats = (("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"))
    paths = []
    for index in range(count):
        with Image.open(FIXTURES / FIXTURE_NAMES[index % len(FIXTURE_NAMES)]) as source:
            image = source.convert("RGB")
        image.thumbnail((long_edge, long_edge))
        suffix, kind = formats[index % len(formats)]
        path = folder / f"view{index + 1:02d}.{suffix}"
        image.save(path, kind)
        paths.append(path)
    return paths


class PeakEngine(ResizeEngine):
    """Counts renders running at once; the first ones wait (bounded) until `expect` run."""

    name = "peak"

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.running = 0
        self.peak = 0
        self.condition = threading.Condition()

    def run(self, job: Job, progress: Progress) -> Output:
        with self.condition:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.peak >= self.expect, timeout=10)
        try:
            return super().run(job, progress)
        finally:
            with self.condition:
                self.running -= 1


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _header(head: bytes, name: str) -> str | None:
    for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.decode("latin-1").partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on it
        sock.close()


@dataclass
class Seen:
    request_line: str
    idempotency_key: str | None
    answer_head: bytes = b""
    dropped: bool = False


@dataclass
class DropProxy:
    """A TCP proxy on 127.0.0.1 in front of a server, one thread per connection.

    For the first `times` requests whose request line starts with `drop` it forwards the
    request, waits until the server's answer starts (or until `trigger` is set, when given),
    then closes the client's connection without relaying a byte of the answer: to the client
    the connection dropped after the server had done the work.
    """

    upstream: tuple[str, int]
    drop: str = "POST /api/v1/renders "
    times: int = 1
    trigger: threading.Event | None = None
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        _close(self.listener)
        self.thread.join(5)

    def __enter__(self) -> DropProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def requests(self, prefix: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.request_line.startswith(prefix)]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        try:
            head = _read_head(client)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            seen = Seen(line, _header(head, "Idempotency-Key"))
            with self.lock:
                seen.dropped = self.times > 0 and line.startswith(self.drop)
                self.times -= seen.dropped
                self.seen.append(seen)
            upstream.sendall(head)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            if seen.dropped:
                if self.trigger is not None:
                    self.trigger.wait(30)
                else:
                    seen.answer_head = upstream.recv(65536)  # the server has answered
                return
            while chunk := upstream.recv(65536):
                if not seen.answer_head:
                    seen.answer_head = chunk
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass


@dataclass
class Scripted:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class StubServer:
    """An HTTP server on 127.0.0.1 that answers from a script and records every request."""

    def __init__(self, *answers: Scripted) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append((self.command, self.path, dict(self.headers), body))
                answer = stub.answers.pop(0) if stub.answers else Scripted(599)
                data = (
                    answer.body
                    if isinstance(answer.body, bytes)
                    else json.dumps(answer.body).encode()
                )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def error(code: str, message: str = "A message long enough to read.", **extra: Any) -> Any:
    return {"error": {"code": code, "message": message, **extra}}
