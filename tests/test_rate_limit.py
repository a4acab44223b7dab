"""The GCRA limiter (acquire, peek, record), in process and in Redis, and the client address
per-address limits count by."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
import redis

from tds.exceptions import RateLimited
from tds.kit.client_address import ClientAddresses
from tds.kit.rate_limit import PEEK, RECORD, RateLimiter, SharedRateLimiter, parse
from tests.support.workers import REDIS_URL, forget_prefix


def test_parse() -> None:
    assert parse("600/minute") == (600, 60.0)
    assert parse(" 5 / second ") == (5, 1.0)
    for bad in ("600", "0/minute", "5/fortnight", "x/minute"):
        with pytest.raises(ValueError, match="rate limit"):
            parse(bad)


def test_burst_then_steady_rate_per_key() -> None:
    limiter = RateLimiter("3/minute")
    for _ in range(3):
        limiter.check("a", now=100.0)
    with pytest.raises(RateLimited) as refused:
        limiter.check("a", now=100.0)
    assert refused.value.headers["Retry-After"] == "20"
    limiter.check("b", now=100.0)  # other keys are not affected
    limiter.check("a", now=120.5)  # one request's worth of time later, one more passes
    with pytest.raises(RateLimited):
        limiter.check("a", now=121.0)


def test_peek_refuses_like_acquire_but_counts_nothing() -> None:
    limiter = RateLimiter("2/minute")
    for _ in range(5):
        limiter.check("a", now=100.0, mode=PEEK)  # peeks alone never fill a key
    limiter.check("a", now=100.0)
    limiter.check("a", now=100.0)
    with pytest.raises(RateLimited) as refused:
        limiter.check("a", now=100.0, mode=PEEK)
    assert refused.value.headers["Retry-After"] == "30"
    limiter.check("a", now=130.5, mode=PEEK)  # an interval later it would pass again


def test_record_counts_without_refusing_and_stays_bounded() -> None:
    """What a failures-only limit does: peek before the attempt, record after a failure."""
    limiter = RateLimiter("3/minute", "failed log-ins")
    for _ in range(3):
        limiter.check("a", now=100.0, mode=PEEK)
        limiter.check("a", now=100.0, mode=RECORD)
    with pytest.raises(RateLimited) as refused:
        limiter.check("a", now=100.0, mode=PEEK)
    assert refused.value.message.startswith("Too many failed log-ins (limit 3/minute).")
    for _ in range(50):  # concurrent failures that all passed their peek
        limiter.check("a", now=100.0, mode=RECORD)
    limiter.check("a", now=120.5, mode=PEEK)  # still free again one interval on, not 50
    limiter.check("b", now=100.0, mode=PEEK)  # other keys are not affected


def test_the_shared_limiter_peeks_and_records_in_redis() -> None:
    prefix = f"tds-test-{secrets.token_hex(4)}:"

    async def scenario() -> tuple[RateLimited, RateLimited]:
        limiter = SharedRateLimiter(
            "login-failure", "2/hour", REDIS_URL, prefix, "failed log-ins for this email"
        )
        try:
            for _ in range(4):
                await limiter.peek("someone@example.com\n203.0.113.7")  # counts nothing
            await limiter.record("someone@example.com\n203.0.113.7")
            await limiter.peek("someone@example.com\n203.0.113.7")
            await limiter.record("someone@example.com\n203.0.113.7")
            with pytest.raises(RateLimited) as peeked:
                await limiter.peek("someone@example.com\n203.0.113.7")
            for _ in range(10):  # records past the limit never refuse and never pile up
                await limiter.record("someone@example.com\n203.0.113.7")
            with pytest.raises(RateLimited) as acquired:
                await limiter.acquire("someone@example.com\n203.0.113.7")
            await limiter.peek("someone@example.com\n198.51.100.1")  # another key: free
            await limiter.acquire("someone@example.com\n198.51.100.1")
            return peeked.value, acquired.value
        finally:
            await limiter.aclose()

    try:
        peeked, acquired = asyncio.run(scenario())
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        keys = client.keys(f"{prefix}*")
        client.close()
    finally:
        forget_prefix(prefix)
    assert 1700 < int(peeked.headers["Retry-After"]) <= 1800  # half an hour: 2/hour
    assert 1700 < int(acquired.headers["Retry-After"]) <= 1800  # one interval, not ten
    assert "Too many failed log-ins for this email (limit 2/hour)" in peeked.message
    assert len(keys) == 2  # the peeks alone made no key
    assert not any("example.com" in key or "203.0" in key for key in keys)


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the IPv4 address
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),  # same /64: same key
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64: another key
        ("::1", "::/64"),
    ],
)
def test_addresses_are_keyed_ipv4_whole_and_ipv6_by_64(peer: str, key: str) -> None:
    assert ClientAddresses().key(_scope(peer)) == key


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    forwarded = [(b"x-forwarded-for", b"198.51.100.9")]
    assert ClientAddresses().key(_scope("127.0.0.1", forwarded)) == "127.0.0.1"
    untrusting = ClientAddresses(["10.0.0.0/8"])
    assert untrusting.key(_scope("127.0.0.1", forwarded)) == "127.0.0.1"
    trusting = ClientAddresses(["127.0.0.1", "10.0.0.0/8"])
    assert trusting.key(_scope("127.0.0.1", forwarded)) == "198.51.100.9"
    assert trusting.key(_scope("127.0.0.1")) == "127.0.0.1"  # no header: the proxy itself


def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy() -> None:
    trusting = ClientAddresses(["127.0.0.1", "10.0.0.0/8"])
    # The client wrote the first two itself; the proxies appended the rest.
    chain = b"1.1.1.1, 2001:db8::1, 198.51.100.9:5555, 10.1.2.3"
    assert trusting.key(_scope("127.0.0.1", [(b"x-forwarded-for", chain)])) == "198.51.100.9"
    split = [(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"[2001:db8:5::7]:443")]
    assert trusting.key(_scope("127.0.0.1", split)) == "2001:db8:5::/64"
    everyone_trusted = [(b"x-forwarded-for", b"10.0.0.5, 10.0.0.6")]
    assert trusting.key(_scope("127.0.0.1", everyone_trusted)) == "10.0.0.5"
    assert ClientAddresses().key({"type": "http", "client": None, "headers": []}) == "unknown"


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match=r"TDS_TRUSTED_PROXIES: 'proxy\.internal'"):
        ClientAddresses(["proxy.internal"])


def _scope(peer: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "client": (peer, 50000), "headers": headers or []}
