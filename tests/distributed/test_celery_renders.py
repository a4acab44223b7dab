"""Renders through Celery workers: the same API, by settings only.

API servers run in-process (on PostgreSQL, with TDS_BROKER_URL set), workers are real
`tds worker` processes; every answer is checked against the books.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tds.config import Settings
from tds.dispatch.queues import all_queues, queue_for
from tests.distributed.conftest import Cluster
from tests.support.http import assert_error, poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer
from tests.support.workers import REDIS_URL

IMAGE = base64.b64encode(png_bytes()).decode()
BODY = {"image_base64": IMAGE, "resolution": "1k"}
ASYNC = {"Prefer": "respond-async"}


def test_a_blocking_render_runs_on_a_worker_and_is_charged_once(
    cluster: Cluster, api: Callable[..., LiveServer]
) -> None:
    cluster.start_worker()
    server = api()
    account = server.account(credits=100)
    with server.client(account) as client:
        response = client.post("/api/v1/renders", json=BODY)
        assert response.status_code == 200, response.text
        answer = response.json()
        render = answer["render"]
        assert (render["status"], render["credits_used"], answer["credits"]) == ("done", 5, 95)
        image = client.get(render["output_image_url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        me = client.get("/api/v1/me").json()
    assert (me["credits"], me["credits_held"]) == (95, 0)
    assert cluster.render_row(render["id"]).attempts == 1
    books = cluster.books(account.id)
    assert books.balanced, books


def test_a_failed_render_is_502_refunded_and_logged_with_the_request_id(
    cluster: Cluster, api: Callable[..., LiveServer]
) -> None:
    worker = cluster.start_worker(TDS_TEST_ENGINE_FAILS="1")
    server = api()
    account = server.account(credits=100)
    with server.client(account, headers={"X-Request-Id": "req-from-the-plugin-42"}) as client:
        error = assert_error(client.post("/api/v1/renders", json=BODY), 502, "model_failed")
        me = client.get("/api/v1/me").json()
    assert "out of GPU memory" in error["message"]
    assert error["request_id"] == "req-from-the-plugin-42"
    assert (me["credits"], me["credits_held"]) == (100, 0)
    assert cluster.books(account.id).balanced
    failure = [line for line in worker.output().splitlines() if "out of GPU memory" in line]
    assert failure
    assert "req-from-the-plugin-42" in failure[0]


def test_two_api_processes_share_the_workers_and_the_books(
    cluster: Cluster, api: Callable[..., LiveServer], tmp_path: Path
) -> None:
    setups = tmp_path / "setups"
    setups.mkdir()
    cluster.start_worker("--concurrency", "2", TDS_TEST_ENGINE_SETUPS=str(setups))
    first, second = api(), api()
    account = first.account(credits=100, plan="pro")
    results: dict[str, dict[str, Any]] = {}

    def render(server: LiveServer, name: str) -> None:
        with server.client(account) as client:
            results[name] = client.post("/api/v1/renders", json=BODY).json()

    threads = [
        threading.Thread(target=render, args=(server, f"{name}{n}"))
        for n in range(3)
        for name, server in (("a", first), ("b", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r["render"]["status"] for r in results.values()) == ["done"] * 6
    with second.client(account) as client:
        assert client.get("/api/v1/me").json()["credits"] == 70
    assert cluster.books(account.id).balanced
    # The engine was set up once in each of the worker's two pool processes, never per render.
    records = sorted(path.read_text() for path in setups.iterdir())
    assert records == ["setup\n", "setup\n"]


def test_progress_queue_position_and_cancel_across_processes(
    cluster: Cluster, api: Callable[..., LiveServer]
) -> None:
    cluster.start_worker(TDS_TEST_ENGINE_SECONDS="60")  # one render at a time, each slow
    server, other = api(), api()
    account = server.account(credits=100, plan="pro")
    with server.client(account, headers=ASYNC) as client:
        ids = [client.post("/api/v1/renders", json=BODY).json()["render"]["id"] for _ in range(3)]
        poll(client, ids[0], ("processing",), seconds=30)
        progress = None
        for _ in range(300):  # the worker reports progress through Redis
            progress = client.get(f"/api/v1/renders/{ids[0]}").json()["render"]["progress"]
            if progress and progress["value"] > 0:
                break
            time.sleep(0.05)
        assert progress is not None
        assert 0 < progress["value"] < progress["max"], progress
        waiting = [client.get(f"/api/v1/renders/{i}").json()["render"] for i in ids[1:]]
        assert [r["queue_position"] for r in waiting] == [1, 2]
        listed = client.get("/api/v1/renders").json()["data"]  # newest first, in one page
        assert [r["queue_position"] for r in listed] == [2, 1, None]
        assert listed[2]["progress"]["value"] > 0
        assert client.get("/api/v1/me").json()["credits_held"] == 15

        # A blocking request on the other API process wakes when this one cancels its render.
        blocked: list[httpx.Response] = []

        def block() -> None:
            with other.client(account, headers={"Prefer": "wait=110"}) as blocking:
                blocked.append(blocking.post("/api/v1/renders", json=BODY))

        waiter = threading.Thread(target=block)
        waiter.start()
        for _ in range(500):  # until the waiter's render queues behind the others
            newest = client.get("/api/v1/renders", params={"limit": 1}).json()["data"][0]
            if newest["id"] not in ids:
                break
            time.sleep(0.02)
        assert newest["id"] not in ids
        assert newest["status"] == "queued"
        newest = newest["id"]
        for render_id in [*ids, newest]:
            canceled = client.post(f"/api/v1/renders/{render_id}/cancel").json()["render"]
            assert canceled["status"] == "canceled"
        waiter.join(60)
        assert not waiter.is_alive(), "the blocking request was not woken by the cancel"
        assert blocked[0].json()["render"]["status"] == "canceled"
        me = client.get("/api/v1/me").json()
        assert (me["credits"], me["credits_held"]) == (100, 0)

        # The worker dropped the canceled render at its next progress report: it runs new work.
        again = client.post("/api/v1/renders", json=BODY).json()["render"]["id"]
        poll(client, again, ("processing",), seconds=30)
        client.post(f"/api/v1/renders/{again}/cancel")
    assert cluster.books(account.id).balanced


def test_kinds_are_routed_to_queues_by_engine_and_setting() -> None:
    settings = Settings(broker_url=REDIS_URL, engine="diffusion", engine_for={"enhance": "preview"})
    assert queue_for(settings, "render") == "gpu"
    assert queue_for(settings, "enhance") == "cpu"
    assert queue_for(settings, "video") == "video"
    assert all_queues(settings) == ["cpu", "gpu", "video"]
    custom = Settings(broker_url=REDIS_URL, queue_for={"video": "gpu"})
    assert queue_for(custom, "video") == "gpu"
    assert all_queues(custom) == ["cpu", "gpu"]


def test_a_worker_takes_only_its_queues(cluster: Cluster, api: Callable[..., LiveServer]) -> None:
    cluster.start_worker("--queues", "video")
    server = api()
    account = server.account(credits=200, plan="pro")
    with server.client(account, headers=ASYNC) as client:
        still = client.post("/api/v1/renders", json=BODY).json()["render"]["id"]
        video = client.post("/api/v1/renders", json=BODY | {"kind": "video"}).json()
        assert poll(client, video["render"]["id"], ("done",), seconds=30)["status"] == "done"
        assert client.get(f"/api/v1/renders/{still}").json()["render"]["status"] == "queued"
        cluster.start_worker("--queues", "cpu")
        assert poll(client, still, ("done",), seconds=30)["status"] == "done"
