"""Renders interrupted by a restart resume; holds past their lease are released by the reaper."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tds.models import Render
from tds.renders.lifecycle import MAX_ATTEMPTS
from tests.support.accounts import Account
from tests.support.db import writing
from tests.support.engines import GateEngine, ResizeEngine
from tests.support.http import poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

MakeServer = Callable[..., LiveServer]
BODY = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"}


def _in_flight(
    make_server: MakeServer, **settings: Any
) -> tuple[LiveServer, GateEngine, Account, str]:
    """A server whose engine has started a render and holds it there; the render's id."""
    engine = GateEngine()
    live = make_server(engine, **settings)
    account = live.account(credits=100)
    with live.client(account) as client:
        render_id = client.post(
            "/api/v1/renders", json=BODY, headers={"Prefer": "respond-async"}
        ).json()["render"]["id"]
        assert engine.started.acquire(timeout=10)
    return live, engine, account, render_id


def test_render_in_flight_at_shutdown_resumes_after_restart(
    make_server: MakeServer, tmp_path: Path
) -> None:
    first, _engine, account, render_id = _in_flight(make_server, data_dir=tmp_path / "data")
    first.stop()  # the engine is stopped mid-render; the render stays in flight, still held

    second = make_server(ResizeEngine(), data_dir=tmp_path / "data")
    with second.client(account) as client:
        render = poll(client, render_id, ("done",))
    assert render["credits_used"] == 5
    books = second.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (95, 0)


def test_render_interrupted_too_often_fails_and_refunds(
    make_server: MakeServer, tmp_path: Path
) -> None:
    first, _engine, account, render_id = _in_flight(make_server, data_dir=tmp_path / "data")
    with writing(first.runtime.db) as session:  # as if it had been interrupted before
        session.get_one(Render, render_id).attempts = MAX_ATTEMPTS
    first.stop()

    second = make_server(ResizeEngine(), data_dir=tmp_path / "data")
    with second.client(account) as client:
        render = client.get(f"/api/v1/renders/{render_id}").json()["render"]
    assert render["status"] == "failed"
    assert render["error"]["code"] == "interrupted"
    books = second.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (100, 0)


def test_reaper_fails_and_refunds_a_render_past_its_lease(make_server: MakeServer) -> None:
    live, engine, account, render_id = _in_flight(
        make_server, render_timeout_seconds=0.2, reaper_interval_seconds=3600
    )
    with live.client(account) as client:
        time.sleep(0.3)
        assert live.app.state.reaper.reap() == [render_id]
        render = client.get(f"/api/v1/renders/{render_id}").json()["render"]
        assert render["status"] == "failed"
        assert render["error"]["code"] == "timeout"
        engine.gate.set()  # the late engine result must not be charged
        time.sleep(0.3)
        render = client.get(f"/api/v1/renders/{render_id}").json()["render"]
    assert render["status"] == "failed"
    assert render["output_image_url"] is None
    books = live.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (100, 0)
