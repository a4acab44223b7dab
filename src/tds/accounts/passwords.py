"""Password hashing for dashboard sign-in: argon2id at OWASP's minimum cost (19 MiB, t=2, p=1).

argon2-cffi's default (64 MiB, t=3, p=4) takes ~180 ms on a 2-core server and 64 MiB a login;
these parameters keep a login near 50 ms. Hashes made with older parameters are upgraded on the
next successful login.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tds.exceptions import InvalidRequest

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 10
MAX_LENGTH = 1000


def check_strength(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidRequest(
            f"Choose a password of at least {MIN_LENGTH} characters.", param="password"
        )


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return HASHER.hash("a password nobody has")


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. Without a hash (unknown email, API-only account) a dummy
    hash is checked instead, so the answer takes as long either way."""
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
