"""A job delivered twice, and a crash between the engine's result and the capture."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from tds.engines.base import Job, Output, Progress
from tds.renders import lifecycle
from tests.support.engines import ResizeEngine
from tests.support.http import poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer

BODY = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"}


class CountingEngine(ResizeEngine):
    name = "counting"

    def __init__(self) -> None:
        self.runs = 0

    def run(self, job: Job, progress: Progress) -> Output:
        self.runs += 1
        return super().run(job, progress)


def test_a_job_delivered_twice_runs_and_charges_once(
    make_server: Callable[..., LiveServer],
) -> None:
    engine = CountingEngine()
    live = make_server(engine)
    account = live.account(credits=100)
    with live.client(account) as client:
        render = client.post("/api/v1/renders", json=BODY).json()["render"]
    executor = live.runtime.dispatcher._execute  # what a second delivery would call
    executor(render["id"], lambda done, total: None)
    assert engine.runs == 1
    books = live.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (95, 0)


def test_crash_between_result_and_capture_recovers_and_charges_once(
    make_server: Callable[..., LiveServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = CountingEngine()
    first = make_server(engine, data_dir=tmp_path / "data")
    account = first.account(credits=100)

    def crash(*args: object, **kwargs: object) -> bool:
        # As if the process died here: the render is left processing and its credits held.
        raise RuntimeError("power cut after the engine returned")

    monkeypatch.setattr(lifecycle, "complete", crash)
    with first.client(account) as client:
        render_id = client.post(
            "/api/v1/renders", json=BODY, headers={"Prefer": "respond-async"}
        ).json()["render"]["id"]
        poll(client, render_id, ("processing",))
    first.stop()
    monkeypatch.undo()

    second = make_server(engine, data_dir=tmp_path / "data")
    with second.client(account) as client:
        render = poll(client, render_id, ("done",))
    assert render["credits_used"] == 5
    assert engine.runs == 2  # run again after the restart, charged once
    books = second.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (95, 0)
