"""GET /metrics: the service's figures read from the database, the same from every process."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tds.api.metrics import ENGINE_BUCKETS, DatabaseCollector
from tds.kit.db import Database
from tests.support.databases import BACKENDS, database_url
from tests.support.engines import FailingEngine, GateEngine
from tests.support.http import assert_error, poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def database_series(samples: Samples) -> Samples:
    """The series read from the database (not this process's own HTTP counters)."""
    return {
        key: number
        for key, number in samples.items()
        if key[0].startswith("tds_") and not key[0].startswith("tds_http_")
    }


@pytest.fixture(params=BACKENDS)
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


def _submit(client: httpx.Client, *, prefer: str | None = "respond-async") -> httpx.Response:
    body = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"}
    return client.post("/api/v1/renders", json=body, headers={"Prefer": prefer} if prefer else {})


def test_metrics_follow_renders_queue_and_credits_across_processes(
    make_server: Callable[..., LiveServer], shared_database: str, tmp_path: Path
) -> None:
    # Two servers on one database, as two API processes would be: one renders (behind a gate),
    # the other's engine fails. Each one's /metrics reports the work of both.
    data_dir = tmp_path / "shared"
    gate = GateEngine()
    rendering = make_server(gate, data_dir=data_dir, database_url=shared_database)
    failing = make_server(FailingEngine(), data_dir=data_dir, database_url=shared_database)
    try:
        account = rendering.account(credits=100, plan="free")  # one render at a time
        with rendering.client(account) as a, failing.client(account) as b:
            before = scrape(a)
            assert value(before, "tds_database_up") == 1
            assert value(before, "tds_renders_total", kind="render", status="done") == 0
            assert value(before, "tds_credits_captured_total") == 0

            first = _submit(a).json()["render"]["id"]
            assert gate.started.acquire(timeout=30)
            second = _submit(a).json()["render"]["id"]
            third = _submit(a).json()["render"]["id"]
            waiting = scrape(b)
            assert value(waiting, "tds_renders_processing", kind="render") == 1
            assert value(waiting, "tds_queue_depth", kind="render") == 2
            assert value(waiting, "tds_queue_depth", kind="video") == 0
            assert value(waiting, "tds_queue_oldest_age_seconds", kind="render") > 0
            assert value(waiting, "tds_queue_oldest_age_seconds", kind="video") == 0
            assert value(waiting, "tds_credits_held") == 15  # three 1k renders at 5 each

            assert a.post(f"/api/v1/renders/{third}/cancel").status_code == 200
            canceled = scrape(b)
            assert value(canceled, "tds_queue_depth", kind="render") == 1
            assert value(canceled, "tds_renders_total", kind="render", status="canceled") == 1
            assert value(canceled, "tds_credits_refunded_total") == 5
            assert value(canceled, "tds_credits_held") == 10

            gate.gate.set()
            for render_id in (first, second):
                assert poll(a, render_id, ("done", "failed"), seconds=30)["status"] == "done"
            failed = assert_error(_submit(b, prefer=None), 502, "model_failed")
            assert failed["render_id"]

            after_a, after_b = scrape(a), scrape(b)
    finally:
        rendering.stop()
        failing.stop()

    assert database_series(after_a) == database_series(after_b)
    after = after_a
    assert value(after, "tds_renders_total", kind="render", status="done") == 2
    assert value(after, "tds_renders_total", kind="render", status="failed") == 1
    assert value(after, "tds_renders_total", kind="render", status="canceled") == 1
    assert value(after, "tds_renders_total", kind="enhance", status="done") == 0
    assert value(after, "tds_render_failures_total", kind="render", code="model_failed") == 1
    assert value(after, "tds_queue_depth", kind="render") == 0
    assert value(after, "tds_renders_processing", kind="render") == 0
    assert value(after, "tds_credits_captured_total") == 10  # two renders spent 5 each
    assert value(after, "tds_credits_refunded_total") == 10  # the canceled one, the failed one
    assert value(after, "tds_credits_held") == 0
    rendering.assert_books_balanced(account)

    # Engine time: a histogram of the two renders that succeeded (they waited on the gate).
    assert value(after, "tds_engine_seconds_count", kind="render") == 2
    assert value(after, "tds_engine_seconds_sum", kind="render") > 0
    buckets = [
        value(after, "tds_engine_seconds_bucket", kind="render", le=str(float(bound)))
        for bound in ENGINE_BUCKETS
    ]
    assert buckets == sorted(buckets)
    assert value(after, "tds_engine_seconds_bucket", kind="render", le="+Inf") == 2
    assert value(after, "tds_engine_seconds_count", kind="video") == 0


def test_metrics_need_no_key_skip_the_rate_limit_and_stay_out_of_the_schema(
    make_server: Callable[..., LiveServer],
) -> None:
    live = make_server(rate_limit="2/minute")
    account = live.account()
    with live.client(account) as client:
        statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        for _ in range(3):  # neither the key nor its spent rate limit matter here
            assert value(scrape(client), "tds_database_up") == 1
        with live.client() as anonymous:
            samples = scrape(anonymous)
            spec = anonymous.get("/openapi.json").json()
    assert "/metrics" not in spec["paths"]
    assert value(samples, "tds_http_requests_total", method="GET", route="/api/v1/me", status="200")
    assert value(samples, "tds_http_requests_total", method="GET", route="/api/v1/me", status="429")
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "process_cpu_seconds_total") > 0


def test_http_metrics_label_route_templates_never_raw_paths(server: LiveServer) -> None:
    account = server.account()
    with server.client(account) as client:
        assert_error(client.get("/api/v1/renders/rnd_NoSuchRender42"), 404, "not_found")
        assert_error(client.get("/no-such-page-7f3a"), 404, "not_found")
        assert client.get("/static/style.css").status_code == 200
        text = client.get("/metrics").text
        samples = scrape(client)
    assert "rnd_NoSuchRender42" not in text
    assert "no-such-page-7f3a" not in text
    route = "/api/v1/renders/{render_id}"
    assert value(samples, "tds_http_requests_total", method="GET", route=route, status="404") >= 1
    assert value(samples, "tds_http_requests_total", method="GET", route="unmatched", status="404")
    assert value(
        samples, "tds_http_requests_total", method="GET", route="/static/{path}", status="200"
    )
    count = value(samples, "tds_http_request_duration_seconds_count", method="GET", route=route)
    assert count >= 1


def test_metrics_speak_openmetrics_when_asked(server: LiveServer) -> None:
    with server.client() as client:
        response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    assert "tds_renders_total" in response.text


def test_an_unreadable_database_reports_down_instead_of_failing_the_scrape(
    tmp_path: Path,
) -> None:
    broken = Database(f"sqlite:///{tmp_path / 'missing' / 'tds.db'}")  # no such folder
    try:
        families = list(DatabaseCollector(lambda: broken).collect())
    finally:
        broken.dispose()
    assert [family.name for family in families] == ["tds_database_up"]
    assert families[0].samples[0].value == 0
    assert list(DatabaseCollector(lambda: None).collect()) == []
