"""Public identifiers: a type prefix and random base62, like Stripe's `ch_…`."""

from __future__ import annotations

import secrets
import string

BASE62 = string.digits + string.ascii_letters


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """E.g. new_id("rnd") -> "rnd_4Qx9…" (20 random characters, ~119 bits)."""
    return f"{prefix}_{random_base62(20)}"
