from __future__ import annotations

import pytest

from tds.exceptions import RateLimited
from tds.kit.rate_limit import RateLimiter, parse


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
