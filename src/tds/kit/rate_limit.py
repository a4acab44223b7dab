"""Requests per key: GCRA (the generic cell rate algorithm), in process or shared in Redis.

Three ways to use a limit: `acquire` counts a request and refuses one over the limit; `peek`
refuses when the next one would be over it but counts nothing; `record` counts one that already
happened and never refuses. `peek` before and `record` after make a limit that counts only
failures (a failed log-in, an unknown API key) yet stops the caller before the next attempt.

One timestamp per key and no background threads. (The `limits` package's memory storage starts
a timer thread every 10 ms under load, which halved /me throughput.) With a broker configured,
SharedRateLimiter keeps that timestamp in Redis, so several API processes count against one
limit; if Redis does not answer, each process falls back to counting on its own.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from typing import Protocol

import redis
import redis.asyncio

from tds.exceptions import RateLimited

log = logging.getLogger("tds.server")

# A request never waits long on Redis for its rate limit: past this, the process counts alone.
SOCKET_TIMEOUT_SECONDS = 0.5
RETRY_REDIS_SECONDS = 5.0

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_NOTATION = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*")


def parse(limit: str) -> tuple[int, float]:
    """ "600/minute" → (600, 60.0)."""
    match = _NOTATION.fullmatch(limit)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"rate limit {limit!r} is not like '600/minute'")
    return int(match.group(1)), _PERIODS[match.group(2)]


# What a call does with the key's count (the Redis script takes the same numbers).
ACQUIRE, PEEK, RECORD = 0, 1, 2


class Limiter(Protocol):
    async def acquire(self, key: str) -> None:
        """Count one request for `key`; RateLimited (nothing counted) when over the limit."""
        ...

    async def peek(self, key: str) -> None:
        """RateLimited when `acquire` would refuse now; counts nothing either way."""
        ...

    async def record(self, key: str) -> None:
        """Count one event for `key` that already happened (a failure); never refuses."""
        ...


def _refused(limit: str, what: str, wait: float) -> RateLimited:
    return RateLimited(
        f"Too many {what} (limit {limit}). Retry after {max(1, round(wait + 0.5))} s.",
        headers={"Retry-After": str(max(1, round(wait + 0.5)))},
    )


class RateLimiter:
    """Allows `count` requests per `period`, in bursts of up to `count`, in this process.

    `what` names what is counted in the refusal's message ("requests for this key")."""

    def __init__(self, limit: str, what: str = "requests for this key") -> None:
        self.limit = limit
        self.what = what
        count, period = parse(limit)
        self.interval = period / count
        self.tolerance = period - self.interval
        self._next: dict[str, float] = {}  # key → theoretical arrival time of its next request
        self._lock = threading.Lock()

    async def acquire(self, key: str) -> None:
        self.check(key)

    async def peek(self, key: str) -> None:
        self.check(key, mode=PEEK)

    async def record(self, key: str) -> None:
        self.check(key, mode=RECORD)

    def check(self, key: str, now: float | None = None, *, mode: int = ACQUIRE) -> None:
        """`acquire`, `peek` or `record` (by `mode`) at `now` (monotonic seconds)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            arrival = max(self._next.get(key, now), now)
            wait = arrival - now - self.tolerance
            if wait > 0 and mode != RECORD:
                raise _refused(self.limit, self.what, wait)
            if mode == PEEK:
                return
            # A record past the limit (concurrent failures that all passed their peek) leaves
            # the key just full: refusals end one interval on, however many there were.
            self._next[key] = min(arrival + self.interval, now + self.tolerance + self.interval)
            if len(self._next) > 100_000:  # forget keys that are idle again
                self._next = {k: v for k, v in self._next.items() if v > now}


# KEYS[1]: the key's theoretical arrival time, in µs of Redis's own clock (every API process
# shares it). ARGV: interval and tolerance in µs, and the mode (0 acquire, 1 peek, 2 record).
# Returns 0, or how many µs to wait (acquire and peek; record always returns 0).
_GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval, tolerance, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local arrival = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local wait = arrival - now - tolerance
if wait > 0 and mode ~= 2 then return wait end
if mode == 1 then return 0 end
local after = math.min(arrival + interval, now + tolerance + interval)
redis.call('SET', KEYS[1], after, 'PX', math.ceil((after - now) / 1000))
return 0
"""


class SharedRateLimiter:
    """The same limit for every API process sharing a Redis: one script call per request."""

    def __init__(
        self, name: str, limit: str, url: str, prefix: str, what: str = "requests for this key"
    ) -> None:
        self.limit = limit
        self.what = what
        timeout = SOCKET_TIMEOUT_SECONDS
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._local = RateLimiter(limit, what)  # while Redis does not answer
        self._interval = round(self._local.interval * 1_000_000)
        self._tolerance = round(self._local.tolerance * 1_000_000)
        self._prefix = f"{prefix}rate:{name}:"
        self._script = self._client.register_script(_GCRA)
        self._alone_until = 0.0  # after a Redis failure, count alone until then

    async def acquire(self, key: str) -> None:
        await self._call(key, ACQUIRE)

    async def peek(self, key: str) -> None:
        await self._call(key, PEEK)

    async def record(self, key: str) -> None:
        await self._call(key, RECORD)

    async def _call(self, key: str, mode: int) -> None:
        """One script call, whatever the mode."""
        if time.monotonic() < self._alone_until:
            self._local.check(key, mode=mode)
            return
        # Hashed: keys may hold emails and addresses, which have no business in Redis.
        name = self._prefix + hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            wait = await self._script(keys=[name], args=[self._interval, self._tolerance, mode])
        except (redis.RedisError, OSError) as error:
            log.warning("shared rate limit unavailable, counting in this process: %s", error)
            self._alone_until = time.monotonic() + RETRY_REDIS_SECONDS
            self._local.check(key, mode=mode)
            return
        if int(wait) > 0:
            raise _refused(self.limit, self.what, int(wait) / 1_000_000)

    async def aclose(self) -> None:
        await self._client.aclose()
