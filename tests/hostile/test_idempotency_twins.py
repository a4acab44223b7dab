"""Security review, issue 15, item 10: concurrent retries with one Idempotency-Key.

A client that times out and retries at once, several times, sends twins of a request that is
still being set up (its claim and hold committed, its render not yet queued). Every twin must
wait for the one render like the first call does and answer what it answers, never a 202 that
the client did not ask for; the render runs and is charged once.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tds.models import Render
from tests.support.accounts import Account
from tests.support.db import reading
from tests.support.engines import ResizeEngine
from tests.support.images import fixture_bytes
from tests.support.servers import LiveServer

TWINS = 12
BODY = {
    "image_base64": base64.b64encode(fixture_bytes("house.png")).decode(),
    "resolution": "1k",
    "seed": 11,
}
HEADERS = {"Idempotency-Key": "retried-while-still-setting-up"}


def _send_twins(live: LiveServer, account: Account) -> list[httpx.Response]:
    """TWINS identical POSTs with one Idempotency-Key, released together."""
    start = threading.Barrier(TWINS)
    answers: list[httpx.Response] = []
    failures: list[BaseException] = []

    def send() -> None:
        try:
            with live.client(account) as client:
                start.wait()
                answers.append(client.post("/api/v1/renders", json=BODY, headers=HEADERS))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=send) for _ in range(TWINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return answers


def _assert_one_render_answered_alike(
    live: LiveServer, account: Account, answers: list[httpx.Response]
) -> None:
    assert [answer.status_code for answer in answers] == [200] * TWINS, [
        (answer.status_code, answer.text[:120]) for answer in answers
    ]
    replayed = sorted(answer.headers.get("Idempotent-Replayed", "") for answer in answers)
    assert replayed == [""] + ["true"] * (TWINS - 1)  # one ran, the others followed it
    first = next(answer for answer in answers if "Idempotent-Replayed" not in answer.headers)
    render = first.json()["render"]
    assert render["status"] == "done"
    assert all(answer.json() == first.json() for answer in answers)  # the same render id too
    assert all("Location" not in answer.headers for answer in answers)  # nobody told to poll
    assert first.json()["credits"] == 95

    with reading(live.runtime.db) as session:
        count = select(func.count()).select_from(Render).where(Render.account_id == account.id)
        assert session.scalar(count) == 1
    books = live.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (95, 0)  # one 1k render, charged once


def test_concurrent_twins_all_wait_for_the_one_render(server: LiveServer) -> None:
    """As the review ran it: twelve at once on the real preview engine."""
    account = server.account(credits=100)
    _assert_one_render_answered_alike(server, account, _send_twins(server, account))


def test_twins_wait_while_the_first_is_still_being_queued(
    make_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window made wide: the first request has committed its claim, hold and render, but
    reaches the dispatcher only once every twin has asked the dispatcher about that render
    (as over a slow broker). Each twin must keep following the render until it is final."""
    live = make_server(ResizeEngine())
    account = live.account(credits=100)
    dispatcher = live.runtime.dispatcher
    submit, wait = dispatcher.submit, dispatcher.wait
    asking: set[asyncio.Task[Any] | None] = set()  # the requests that asked about the render

    async def slow_submit(*args: Any, **kwargs: Any) -> None:
        for _ in range(5000):  # a bound, not a timing: the twins are normally there at once
            if len(asking) >= TWINS - 1:
                break
            await asyncio.sleep(0.002)
        await submit(*args, **kwargs)

    async def counted_wait(render_id: str, timeout: float) -> bool:
        asking.add(asyncio.current_task())
        return await wait(render_id, timeout)

    monkeypatch.setattr(dispatcher, "submit", slow_submit)
    monkeypatch.setattr(dispatcher, "wait", counted_wait)

    answers = _send_twins(live, account)

    assert len(asking) >= TWINS - 1  # the window was really open
    _assert_one_render_answered_alike(live, account, answers)
