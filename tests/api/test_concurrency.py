"""Concurrent spending on one account never goes below zero, and the books balance."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.http import assert_error
from tests.support.images import fixture_bytes
from tests.support.servers import LiveServer


def test_twenty_parallel_2k_renders_on_100_credits(server: LiveServer) -> None:
    account = server.account(credits=100)
    body = {
        "image_base64": base64.b64encode(fixture_bytes("house.png")).decode(),
        "resolution": "2k",
    }

    def send(_: int) -> httpx.Response:
        with server.client(account) as client:
            return client.post("/api/v1/renders", json=body)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))

    done = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 402]
    assert len(done) == 10, [a.status_code for a in answers]
    assert len(refused) == 10
    for answer in refused:
        assert_error(answer, 402, "insufficient_credits")
    assert all(a.json()["render"]["status"] == "done" for a in done)
    books = server.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (0, 0)
    with server.client(account) as client:
        assert client.get("/api/v1/me").json()["credits"] == 0
