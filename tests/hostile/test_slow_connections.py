"""One connection must not stall the server, nor hold a slot forever (issue 15, item 2).

Raw sockets against real servers on loopback: request heads over the size or count limit are
answered 431 at once; connections that send nothing, half a head, or a body a byte at a time,
and idle keep-alive connections, are closed after their timeouts (small ones here); ordinary
requests, a full-size upload among them, are untouched. The bounds are `tds.server.http`'s,
which `tds serve`, the `make_server` servers and the benchmark all run with.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.engines import GateEngine
from tests.support.images import png_bytes
from tests.support.servers import LiveServer, interrupt, start_tds_serve

# Timeouts short enough for a test; `closed_within` waits far longer than any of them.
FAST = {
    "http_header_timeout_seconds": 0.5,
    "http_keep_alive_seconds": 0.5,
    "http_min_body_bytes_per_second": 1024,
}
WAIT = 3.0


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname
    assert parts.port
    return socket.create_connection((parts.hostname, parts.port), timeout=WAIT)


def send_quietly(sock: socket.socket, data: bytes) -> int:
    """Send what the server takes before it closes; how many bytes that was."""
    sent = 0
    view = memoryview(data)
    try:
        while sent < len(data):
            sent += sock.send(view[sent : sent + 65536])
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (TimeoutError if it does
    not within WAIT seconds)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside a response body"
        body += chunk
    assert len(body) == length, "more bytes than the response's length"
    return int(status_line.split()[1]), headers, body


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def error_code(answer: bytes) -> str:
    code: str = json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"]
    return code


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def healthy(url: str) -> bool:
    return httpx.get(f"{url}/healthz", timeout=WAIT).status_code == 200


@pytest.fixture
def fast(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(**FAST)


# -- request heads: size and count ----------------------------------------------------------


def test_a_150_mb_header_is_refused_early_while_the_server_keeps_answering(
    server: LiveServer,
) -> None:
    answers: list[bytes] = []
    sent: list[int] = []

    def attack() -> None:
        with connect(server.url) as sock:
            sock.settimeout(30)
            total = send_quietly(sock, b"GET /healthz HTTP/1.1\r\nX-Big: ")
            megabyte = b"a" * 1_000_000
            for _ in range(150):  # a 150 MB header, until the server stops reading
                total += (taken := send_quietly(sock, megabyte))
                if taken < len(megabyte):
                    break
            sent.append(total)
            sock.settimeout(WAIT)
            answers.append(until_closed(sock))

    attacker = threading.Thread(target=attack)
    attacker.start()
    try:
        assert healthy(server.url)
    finally:
        attacker.join(60)
    assert not attacker.is_alive()
    assert status_of(answers[0]) == 431
    assert error_code(answers[0]) == "request_headers_too_large"
    # The server stopped reading long before the end (what got through sits in socket buffers).
    assert sent[0] < 50_000_000
    assert healthy(server.url)


def test_a_head_over_the_byte_limit_is_refused_and_one_under_it_served(server: LiveServer) -> None:
    limit = server.settings.http_max_header_bytes
    with connect(server.url) as sock:
        sock.sendall(get("/healthz", "X-Fill: " + "a" * (limit - 200)))
        status, _, _ = read_response(sock)
        assert status == 200
    for head in (
        get("/healthz", "X-Fill: " + "a" * (limit + 10)),  # one header
        get("/healthz", *(f"X-Fill-{n}: " + "a" * 1000 for n in range(limit // 1000 + 2))),
        ("GET /healthz?q=" + "a" * (limit + 10) + " HTTP/1.1\r\nHost: x\r\n\r\n").encode(),
    ):
        with connect(server.url) as sock:
            send_quietly(sock, head)
            answer = until_closed(sock)
        assert status_of(answer) == 431, head[:80]
        assert error_code(answer) == "request_headers_too_large"


def test_a_head_over_the_limit_in_small_pieces_is_refused(server: LiveServer) -> None:
    limit = server.settings.http_max_header_bytes
    with connect(server.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        for n in range(limit // 500 + 2):
            if send_quietly(sock, f"X-Fill-{n}: {'a' * 490}\r\n".encode()) == 0:
                break
            time.sleep(0.001)  # separate chunks, as a slow client's
        answer = until_closed(sock)
    assert status_of(answer) == 431


def test_too_many_headers_are_refused_and_the_most_allowed_served(server: LiveServer) -> None:
    most = server.settings.http_max_headers
    with connect(server.url) as sock:  # Host is one of them
        sock.sendall(get("/healthz", *(f"X-H{n}: v" for n in range(most - 1))))
        assert read_response(sock)[0] == 200
    with connect(server.url) as sock:
        sock.sendall(get("/healthz", *(f"X-H{n}: v" for n in range(most))))
        answer = until_closed(sock)
    assert status_of(answer) == 431
    assert b"connection: close" in answer.lower()


# -- slow and idle connections --------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed(fast: LiveServer) -> None:
    with connect(fast.url) as sock:
        assert until_closed(sock) == b""  # no answer: there was no request
    assert healthy(fast.url)


def test_half_a_head_is_answered_408_and_closed(fast: LiveServer) -> None:
    with connect(fast.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half")
        answer = until_closed(sock)
    assert status_of(answer) == 408
    assert error_code(answer) == "request_timeout"


def test_a_head_trickling_in_is_closed(fast: LiveServer) -> None:
    """Each byte resets no clock: the whole head must arrive within the header timeout."""
    with connect(fast.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        received = b""
        for _ in range(int(WAIT / 0.05)):
            if send_quietly(sock, b"X") == 0:
                break
            sock.settimeout(0.05)
            try:
                received = sock.recv(65536)
            except TimeoutError:
                continue
            break
        sock.settimeout(WAIT)
        answer = received + until_closed(sock)
    assert status_of(answer) == 408


def test_an_idle_keep_alive_connection_is_closed(fast: LiveServer) -> None:
    with connect(fast.url) as sock:
        sock.sendall(get("/healthz"))
        assert read_response(sock)[0] == 200
        sock.sendall(get("/healthz"))  # reused, it still serves
        assert read_response(sock)[0] == 200
        assert until_closed(sock) == b""


def test_a_body_trickling_at_a_few_bytes_a_second_is_closed(fast: LiveServer) -> None:
    account = fast.account()
    body = json.dumps({"image_base64": "A" * 2000}).encode()
    head = (
        "POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {account.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(fast.url) as sock:
        sock.sendall(head)
        answer = b""
        for byte in range(len(body)):
            if send_quietly(sock, body[byte : byte + 1]) == 0:
                break
            sock.settimeout(0.2)  # about 5 B/s
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            break
        else:
            pytest.fail("the whole body trickled in")
        sock.settimeout(WAIT)
        answer += until_closed(sock)
    assert status_of(answer) == 408
    assert error_code(answer) == "request_timeout"
    assert healthy(fast.url)


# -- ordinary requests stay untouched ---------------------------------------------------------


def test_a_full_size_upload_and_a_steady_slow_body_are_served(fast: LiveServer) -> None:
    account = fast.account()
    with fast.client(account) as client:
        big = client.post(
            "/api/v1/uploads",
            files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 25_000_000)},
        )
        assert big.status_code == 400, big.text  # read whole, then refused as no image
        assert big.json()["error"]["code"] == "invalid_image"
        assert client.get("/healthz").status_code == 200  # the same connection, kept alive

    def steady() -> Iterator[bytes]:  # 40 kB in one second: far above 1 kB/s
        yield b'{"image_base64": "'
        for _ in range(20):
            time.sleep(0.05)
            yield b"A" * 2000
        yield b'"}'

    with fast.client(account) as client:
        slow = client.post(
            "/api/v1/uploads",
            content=steady(),
            headers={"Content-Type": "application/json", "Content-Length": str(40_020)},
        )
    assert slow.status_code == 400, slow.text
    assert slow.json()["error"]["code"] == "invalid_image"


def test_a_slow_answer_is_not_a_slow_request(make_server: Callable[..., LiveServer]) -> None:
    """The deadlines bound what the client sends; the server may take its time to answer."""
    engine = GateEngine()
    live = make_server(engine, **FAST)
    account = live.account()
    body = json.dumps({"image_base64": base64.b64encode(png_bytes()).decode()}).encode()
    with connect(live.url) as sock:
        sock.sendall(
            (
                "POST /api/v1/renders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {account.key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        assert engine.started.acquire(timeout=WAIT)
        time.sleep(1.5)  # past the header, body and keep-alive timeouts
        engine.gate.set()
        status, _, answer = read_response(sock)
        assert status == 200, answer
        assert json.loads(answer)["render"]["status"] == "done"
        sock.sendall(get("/healthz"))  # and the connection is still good for another
        assert read_response(sock)[0] == 200
    live.assert_books_balanced(account)


# -- every way tds serves: `tds serve` itself ------------------------------------------------


def test_tds_serve_applies_the_limits(tmp_path: Path) -> None:
    env = {"TDS_HTTP_HEADER_TIMEOUT_SECONDS": "0.5", "TDS_HTTP_MAX_HEADERS": "20"}
    process, url = start_tds_serve(tmp_path / "data", env=env)
    try:
        with connect(url) as sock:
            assert until_closed(sock) == b""
        with connect(url) as sock:
            sock.sendall(get("/healthz", *(f"X-H{n}: v" for n in range(20))))
            assert status_of(until_closed(sock)) == 431
        with connect(url) as sock:
            send_quietly(sock, get("/healthz", "X-Big: " + "a" * 70_000))
            assert status_of(until_closed(sock)) == 431
        assert healthy(url)
    finally:
        interrupt(process)


# -- proxy headers: believed only from TDS_TRUSTED_PROXIES -------------------------------------


def _client_seen_by_tds_serve(data_dir: Path, env: dict[str, str]) -> str:
    """The client address `tds serve` logs for a request that claims to be forwarded."""
    env = env | {"TDS_LOG_FORMAT": "json", "TDS_WORKERS": "1"}
    process, url = start_tds_serve(data_dir, env=env, capture=True)
    try:
        spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        assert httpx.get(f"{url}/healthz?spoof", headers=spoofed).status_code == 200
    finally:
        output = interrupt(process)
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (access,) = [e for e in entries if e["logger"] == "uvicorn.access" and "spoof" in e["path"]]
    client: str = access["client"]
    return client.rsplit(":", 1)[0]


def test_tds_serve_believes_forwarded_headers_only_from_trusted_proxies(tmp_path: Path) -> None:
    # By default nobody is a proxy: a local client cannot pick the address it is seen as.
    assert _client_seen_by_tds_serve(tmp_path / "a", {}) == "127.0.0.1"
    trusted = {"TDS_TRUSTED_PROXIES": '["127.0.0.0/8"]'}
    assert _client_seen_by_tds_serve(tmp_path / "b", trusted) == "203.0.113.9"
