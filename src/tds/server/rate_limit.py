"""Requests per API key, in process: GCRA (the generic cell rate algorithm).

One timestamp per key and no background threads. (The `limits` package's memory storage starts
a timer thread every 10 ms under load, which halved /me throughput.) Limits are per process:
several API processes need a shared store (Redis), which the scale-out work brings.
"""

from __future__ import annotations

import re
import threading
import time

from tds.exceptions import RateLimited

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_NOTATION = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*")


def parse(limit: str) -> tuple[int, float]:
    """ "600/minute" → (600, 60.0)."""
    match = _NOTATION.fullmatch(limit)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"rate limit {limit!r} is not like '600/minute'")
    return int(match.group(1)), _PERIODS[match.group(2)]


class RateLimiter:
    """Allows `count` requests per `period`, in bursts of up to `count`."""

    def __init__(self, limit: str) -> None:
        self.limit = limit
        count, period = parse(limit)
        self.interval = period / count
        self.tolerance = period - self.interval
        self._next: dict[str, float] = {}  # key → theoretical arrival time of its next request
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            arrival = max(self._next.get(key, now), now)
            wait = arrival - now - self.tolerance
            if wait > 0:
                raise RateLimited(
                    f"Too many requests for this API key (limit {self.limit}). "
                    f"Retry after {wait:.0f} s.",
                    headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                )
            self._next[key] = arrival + self.interval
            if len(self._next) > 100_000:  # forget keys that are idle again
                self._next = {k: v for k, v in self._next.items() if v > now}
