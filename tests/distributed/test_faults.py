"""Faults on the distributed path, with real processes, PostgreSQL and Redis: a render is
charged exactly once or not at all, and nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tds.models import LedgerEntry
from tests.distributed.conftest import Cluster
from tests.distributed.test_celery_renders import ASYNC, BODY
from tests.support.db import reading
from tests.support.http import assert_error, poll
from tests.support.servers import LiveServer, free_port, start_tds_serve
from tests.support.workers import Worker


def _entries(cluster: Cluster, render_id: str) -> list[str]:
    db = cluster.database()
    try:
        with reading(db) as session:
            return sorted(
                session.scalars(select(LedgerEntry.kind).where(LedgerEntry.render_id == render_id))
            )
    finally:
        db.dispose()


def _killable_worker(
    cluster: Cluster, tmp_path: Path, engine_seconds: int, *args: str, **env: str
) -> tuple[Worker, Path]:
    """A worker whose engine writes the id of the process that renders to the returned file."""
    pidfile = tmp_path / "engine.pid"
    worker = cluster.start_worker(
        *args,
        TDS_TEST_ENGINE_SECONDS=str(engine_seconds),
        TDS_TEST_ENGINE_PIDFILE=str(pidfile),
        **env,
    )
    return worker, pidfile


def _rendering_pid(pidfile: Path) -> int:
    """The pid of the process running the render, once the engine started it; the file is
    removed, so the next call waits for the next start."""
    for _ in range(600):
        if pidfile.exists() and pidfile.read_text():
            pid = int(pidfile.read_text())
            pidfile.unlink()
            return pid
        time.sleep(0.05)
    raise AssertionError("the engine never started")


def _settled(client: httpx.Client, render_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The render once final, and the account's balance then."""
    render = poll(client, render_id, ("done", "failed"), seconds=60)
    return render, client.get("/api/v1/me").json()


def test_a_worker_process_killed_mid_render_runs_it_again_and_charges_once(
    cluster: Cluster, api: Callable[..., LiveServer], tmp_path: Path
) -> None:
    _, pidfile = _killable_worker(cluster, tmp_path, 3)
    server = api()
    account = server.account(credits=100)
    with server.client(account, headers=ASYNC) as client:
        render_id = client.post("/api/v1/renders", json=BODY).json()["render"]["id"]
        child = _rendering_pid(pidfile)
        os.kill(child, signal.SIGKILL)  # the pool process running the engine, mid-render
        assert _rendering_pid(pidfile) != child  # the job came back, to a new pool process
        render, me = _settled(client, render_id)
    assert (render["status"], render["credits_used"]) == ("done", 5)
    assert (me["credits"], me["credits_held"]) == (95, 0)
    assert cluster.render_row(render_id).attempts == 2
    assert _entries(cluster, render_id) == ["capture", "hold"]
    assert cluster.books(account.id).balanced


def test_a_render_killed_twice_fails_and_is_refunded_once(
    cluster: Cluster, api: Callable[..., LiveServer], tmp_path: Path
) -> None:
    _, pidfile = _killable_worker(cluster, tmp_path, 30)
    server = api()
    account = server.account(credits=100)
    with server.client(account, headers=ASYNC) as client:
        render_id = client.post("/api/v1/renders", json=BODY).json()["render"]["id"]
        for _ in range(2):
            os.kill(_rendering_pid(pidfile), signal.SIGKILL)
        render, me = _settled(client, render_id)
    assert render["status"] == "failed"
    assert render["error"]["code"] == "interrupted"
    assert (me["credits"], me["credits_held"]) == (100, 0)
    assert _entries(cluster, render_id) == ["hold", "release"]
    assert cluster.books(account.id).balanced


def test_a_vanished_worker_s_render_is_reaped_and_refunded(
    cluster: Cluster, api: Callable[..., LiveServer], tmp_path: Path
) -> None:
    # The lease a worker takes when it starts a render: 3 s here.
    worker, pidfile = _killable_worker(
        cluster, tmp_path, 60, "--pool", "solo", TDS_RENDER_TIMEOUT_SECONDS="3"
    )
    server = api(render_timeout_seconds=3, reaper_interval_seconds=0.5)
    account = server.account(credits=100)
    with server.client(account, headers=ASYNC) as client:
        render_id = client.post("/api/v1/renders", json=BODY).json()["render"]["id"]
        _rendering_pid(pidfile)
        worker.kill()  # the whole worker, and no other: its job waits unacknowledged in Redis
        render, me = _settled(client, render_id)
    assert render["status"] == "failed"
    assert render["error"]["code"] == "timeout"
    assert (me["credits"], me["credits_held"]) == (100, 0)
    assert _entries(cluster, render_id) == ["hold", "release"]
    assert cluster.books(account.id).balanced


def test_a_client_finds_its_render_after_the_api_restarts_mid_wait(cluster: Cluster) -> None:
    cluster.start_worker(TDS_TEST_ENGINE_SECONDS="4")
    key = _create_key(cluster)
    api, url = start_tds_serve(cluster.data_dir, env=cluster.env())
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "view-42"}
    outcome: list[BaseException | httpx.Response] = []

    def blocking_post() -> None:
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                outcome.append(client.post("/api/v1/renders", json=BODY))
        except httpx.TransportError as error:
            outcome.append(error)

    waiter = threading.Thread(target=blocking_post)
    waiter.start()
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            render_id = _first_render_id(client)
            poll(client, render_id, ("processing",), seconds=30)
        api.send_signal(signal.SIGKILL)  # the API dies while the client waits
        api.wait(30)
        waiter.join(30)
        assert isinstance(outcome[0], httpx.TransportError)

        api, url = start_tds_serve(cluster.data_dir, env=cluster.env())
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            found = client.get(f"/api/v1/renders/{render_id}").json()["render"]
            assert found["status"] in ("processing", "done")
            retried = client.post("/api/v1/renders", json=BODY)  # same Idempotency-Key
            me = client.get("/api/v1/me").json()
    finally:
        api.terminate()
        api.wait(30)
    assert retried.status_code == 200, retried.text
    assert retried.json()["render"]["id"] == render_id
    assert retried.json()["render"]["status"] == "done"
    assert (me["credits"], me["credits_held"]) == (95, 0)
    assert _entries(cluster, render_id) == ["capture", "hold"]


def test_unreachable_redis_is_503_with_nothing_held(
    cluster: Cluster, api: Callable[..., LiveServer]
) -> None:
    server = api(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    account = server.account(credits=100)
    with server.client(account) as client:
        error = assert_error(client.post("/api/v1/renders", json=BODY), 503, "model_unavailable")
        me = client.get("/api/v1/me").json()
        listed = client.get("/api/v1/renders").json()["data"]
    assert "nothing was charged" in error["message"]
    assert (me["credits"], me["credits_held"]) == (100, 0)
    assert listed == []
    assert cluster.books(account.id).balanced


def _create_key(cluster: Cluster) -> str:
    command = [sys.executable, "-m", "tds", "admin", "create-key"]
    done = subprocess.run(
        [*command, "--email", "a@example.com", "--credits", "100"],
        env=os.environ | cluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _first_render_id(client: httpx.Client) -> str:
    for _ in range(500):
        data = client.get("/api/v1/renders").json()["data"]
        if data:
            return str(data[0]["id"])
        time.sleep(0.02)
    raise AssertionError("the render was never created")
