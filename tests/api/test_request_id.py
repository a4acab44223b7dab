"""X-Request-Id on every answer, and the same id in every error body and log line."""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest

from tds.kit import request_id
from tds.kit.logs import JsonFormatter, RequestIdFilter
from tests.support.engines import BrokenEngine, FailingEngine
from tests.support.http import assert_error
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

GENERATED = re.compile(r"req_[0-9a-f]{24}")


def assert_error_with_id(response: httpx.Response, status: int, code: str) -> str:
    """The error's shape, and its request_id equal to the answer's X-Request-Id."""
    error = assert_error(response, status, code)
    assert error["request_id"] == response.headers["x-request-id"], (error, response.headers)
    return str(error["request_id"])


def test_each_answer_gets_a_fresh_id(server: LiveServer) -> None:
    with server.client() as client:
        ids = [client.get("/healthz").headers["x-request-id"] for _ in range(3)]
        page = client.get("/login", headers={"Accept": "text/html"})
    assert all(GENERATED.fullmatch(rid) for rid in ids), ids
    assert len(set(ids)) == 3
    assert GENERATED.fullmatch(page.headers["x-request-id"])


@pytest.mark.parametrize(
    "incoming",
    ["abc", "0af7651916cd43dd8448eb211c80319c", "trace.v1_ABC-9", "x" * 64],
)
def test_a_sane_incoming_id_is_kept(server: LiveServer, incoming: str) -> None:
    with server.client() as client:
        healthy = client.get("/healthz", headers={"X-Request-Id": incoming})
        missing = client.get("/api/v1/me", headers={"X-Request-Id": incoming})
    assert healthy.headers["x-request-id"] == incoming
    assert healthy.headers.get_list("x-request-id") == [incoming]
    assert assert_error_with_id(missing, 401, "invalid_api_key") == incoming


@pytest.mark.parametrize(
    "incoming",
    ["x" * 65, "has space", "slash/es", 'quote"d', "semi;colon", "é", "", "a,b"],
)
def test_an_odd_incoming_id_is_replaced(server: LiveServer, incoming: str) -> None:
    with server.client() as client:
        response = client.get("/healthz", headers=[(b"X-Request-Id", incoming.encode())])
    assert response.status_code == 200
    assert GENERATED.fullmatch(response.headers["x-request-id"]), response.headers


def test_every_kind_of_error_carries_the_request_id(
    server: LiveServer, make_server: Callable[..., LiveServer]
) -> None:
    account = server.account(credits=0)
    body = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"}
    with server.client(account) as client:
        assert_error_with_id(client.get("/api/v2/nothing"), 404, "not_found")
        assert_error_with_id(client.get("/api/v1/renders/rnd_missing"), 404, "not_found")
        assert_error_with_id(client.delete("/api/v1/me"), 405, "method_not_allowed")
        assert_error_with_id(
            client.get("/api/v1/renders", params={"limit": 0}), 400, "invalid_request"
        )
        assert_error_with_id(
            client.get("/api/v1/renders", params={"limt": 5}), 400, "invalid_request"
        )
        assert_error_with_id(
            client.post(
                "/api/v1/renders", content=b"{", headers={"content-type": "application/json"}
            ),
            400,
            "invalid_request",
        )
        assert_error_with_id(client.post("/api/v1/renders", json=body), 402, "insufficient_credits")
        assert_error_with_id(client.get("/files/uploads/nothing-here.png"), 404, "not_found")
    with server.client() as anonymous:
        assert_error_with_id(anonymous.get("/api/v1/me"), 401, "invalid_api_key")

    # From the body limit middleware, before any route; from the rate limiter; from a crash;
    # from a failed render.
    limited = make_server(max_upload_bytes=50_000, rate_limit="2/minute")
    small = limited.account()
    with limited.client(small) as client:
        too_big = client.post(
            "/api/v1/uploads",
            files={"file": ("a.png", b"0" * 200_000)},
            headers={"X-Request-Id": "upload-413"},
        )
        assert assert_error_with_id(too_big, 413, "payload_too_large") == "upload-413"
        answers = [client.get("/api/v1/me") for _ in range(3)]  # the 413 never reached auth
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert_error_with_id(answers[-1], 429, "rate_limited")

    crashing = make_server(BrokenEngine())
    with crashing.client(crashing.account()) as client:
        crash = client.get("/api/v1/styles", headers={"X-Request-Id": "crash-500"})
        assert assert_error_with_id(crash, 500, "internal_error") == "crash-500"

    failing = make_server(FailingEngine())
    with failing.client(failing.account()) as client:
        failed = client.post("/api/v1/renders", json=body)
        assert_error_with_id(failed, 502, "model_failed")
        assert failed.json()["error"]["render_id"].startswith("rnd_")


def test_successful_bodies_are_unchanged(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        me = client.get("/api/v1/me", headers={"X-Request-Id": "me-1"})
    assert me.status_code == 200
    assert me.headers["x-request-id"] == "me-1"
    assert "request_id" not in me.json()


def test_the_openapi_error_schema_names_request_id(server: LiveServer) -> None:
    with server.client() as client:
        spec = client.get("/openapi.json").json()
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert "request_id" in detail["properties"]
    assert "request_id" in detail["required"]


@pytest.fixture
def json_lines() -> Iterator[list[str]]:
    """What tds.server's loggers write, formatted as TDS_LOG_FORMAT=json would."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tds.server")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_a_crash_is_logged_with_its_request_id_and_traceback(
    make_server: Callable[..., LiveServer], json_lines: list[str]
) -> None:
    live = make_server(BrokenEngine())
    with live.client(live.account()) as client:
        crash = client.get("/api/v1/styles", headers={"X-Request-Id": "crash-log-1"})
    assert crash.status_code == 500
    entries = [json.loads(line) for line in json_lines]
    logged = [entry for entry in entries if entry.get("request_id") == "crash-log-1"]
    assert len(logged) == 1, entries
    entry = logged[0]
    assert entry["level"] == "error"
    assert entry["logger"] == "tds.server"
    assert entry["message"] == "unhandled error on GET /api/v1/styles"
    assert "RuntimeError: a bug in the engine's description" in entry["exception"]
    assert "Traceback" in entry["exception"]


def test_the_json_formatter_writes_one_object_per_line_with_keys_redacted() -> None:
    key = "tds_live_" + "A" * 32 + "abcdef"
    token = request_id.current.set("req_formatter")
    try:
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            record = logging.LogRecord(
                "tds.renders", logging.WARNING, __file__, 1, "render %s: %s", ("rnd_1", key), None
            )
            record.exc_info = sys.exc_info()
        RequestIdFilter().filter(record)
    finally:
        request_id.current.reset(token)
    line = JsonFormatter().format(record)  # formatted outside the request: the id was stamped
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "req_formatter"
    assert entry["level"] == "warning"
    assert entry["logger"] == "tds.renders"
    assert entry["message"].startswith("render rnd_1: tds_live_")
    assert key not in line
    assert "ValueError: bad" in entry["exception"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
    outside = logging.LogRecord("tds", logging.INFO, __file__, 1, "no request", (), None)
    RequestIdFilter().filter(outside)
    assert "request_id" not in json.loads(JsonFormatter().format(outside))
