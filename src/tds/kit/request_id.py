"""A request id for every request: taken from a sane `X-Request-Id`, else made here.

The id is kept in a context variable while the request runs, so error bodies
(`tds.api.errors.error_body`) and log lines (`tds.kit.logs`) carry it wherever they are
produced, and it is returned in the `X-Request-Id` header of every answer (by
`tds.api.edge`, which wraps the whole stack, so 500s and the answers of other middlewares carry
it too). Celery tasks set it from the job, so a worker's log lines name the request too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar

HEADER = "X-Request-Id"

HEADER_KEY = HEADER.lower().encode()
# What an incoming id may look like: ids from a proxy or a client's own tracing (UUIDs,
# 32-hex trace ids) pass; anything that could forge a log line or a header does not.
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,64}")

current: ContextVar[str | None] = ContextVar("tds_request_id", default=None)


def get() -> str | None:
    """The id of the request being served, or None outside a request."""
    return current.get()


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def incoming(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The client's `X-Request-Id` when it is sane, else None."""
    for name, value in headers:
        if name == HEADER_KEY:
            return value.decode("ascii") if _SANE.fullmatch(value) else None
    return None
