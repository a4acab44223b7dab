"""Rate limits hold across API processes that share a Redis, and survive its absence."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import pytest
import redis

from tds.exceptions import RateLimited
from tds.kit.rate_limit import SharedRateLimiter
from tests.distributed.conftest import Cluster
from tests.support.http import assert_error
from tests.support.servers import LiveServer, free_port
from tests.support.workers import REDIS_URL, forget_prefix


def test_two_api_processes_count_against_one_limit(
    cluster: Cluster, api: Callable[..., LiveServer]
) -> None:
    first, second = api(rate_limit="3/minute"), api(rate_limit="3/minute")
    account = first.account()
    statuses = []
    for number in range(6):
        server = (first, second)[number % 2]
        with server.client(account) as client:
            statuses.append(client.get("/api/v1/me").status_code)
    assert statuses == [200, 200, 200, 429, 429, 429]  # per process, it would be six 200s


def test_without_redis_each_process_still_limits_on_its_own(
    cluster: Cluster, api: Callable[..., LiveServer]
) -> None:
    server = api(rate_limit="2/minute", broker_url=f"redis://127.0.0.1:{free_port()}/0")
    account = server.account()
    with server.client(account) as client:
        assert [client.get("/api/v1/me").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/api/v1/me")
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_the_shared_limiter_bursts_then_refuses_and_keeps_no_raw_key() -> None:
    prefix = f"tds-test-{secrets.token_hex(4)}:"

    async def scenario() -> RateLimited:
        limiter = SharedRateLimiter("login", "2/hour", REDIS_URL, prefix)
        try:
            await limiter.acquire("email:someone@example.com")
            await limiter.acquire("email:someone@example.com")
            await limiter.acquire("email:other@example.com")  # other keys are not affected
            with pytest.raises(RateLimited) as refused:
                await limiter.acquire("email:someone@example.com")
            return refused.value
        finally:
            await limiter.aclose()

    try:
        refused = asyncio.run(scenario())
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        keys = client.keys(f"{prefix}*")
        client.close()
    finally:
        forget_prefix(prefix)
    assert 1700 < int(refused.headers["Retry-After"]) <= 1800  # half an hour: 2/hour
    assert len(keys) == 2
    assert not any("example.com" in key for key in keys)
