"""A client that gives up during a blocking render: the render finishes, is charged once and can
be fetched; nothing is held afterwards."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from tests.support.engines import GateEngine
from tests.support.http import poll
from tests.support.images import png_bytes
from tests.support.servers import LiveServer


def test_client_disconnect_mid_wait_charges_once(make_server: Callable[..., LiveServer]) -> None:
    engine = GateEngine()
    live = make_server(engine)
    account = live.account(credits=100)
    body = {"image_base64": base64.b64encode(png_bytes()).decode(), "resolution": "1k"}
    with (
        httpx.Client(base_url=live.url, headers=account.headers, timeout=0.5) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/api/v1/renders", json=body)
    assert engine.started.acquire(timeout=10)
    engine.gate.set()
    with live.client(account) as client:
        listed = client.get("/api/v1/renders").json()["data"]
        assert len(listed) == 1
        render = poll(client, listed[0]["id"], ("done",))
    assert render["credits_used"] == 5
    books = live.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (95, 0)
