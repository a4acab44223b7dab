"""Claim, check and replay `Idempotency-Key`s.

The same key with the same body replays the first answer and never runs (or charges) twice; the
same key with another body is 409 idempotency_conflict. A key is claimed in the same transaction
that holds the credits, so two concurrent requests with one key cannot both create a render.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tds.exceptions import IdempotencyConflict, InvalidRequest
from tds.kit.db import Database, utcnow
from tds.models import IdempotencyKey

MAX_LENGTH = 255
T = TypeVar("T")


class ClaimTaken(Exception):
    """A concurrent request with the same key claimed it first; nothing of this one was kept."""


@dataclass(frozen=True)
class Claim:
    """An `Idempotency-Key` and the fingerprint of the request that came with it."""

    key: str
    fingerprint: str

    @classmethod
    def of(
        cls, header: str | None, method: str, path: str, payload: Callable[[], Any]
    ) -> Claim | None:
        """The claim a request makes: None without the header, 400 for a malformed key.
        `payload()` is what the fingerprint covers, computed only when there is a key."""
        if header is None:
            return None
        return cls(validate_key(header), fingerprint(method, path, payload()))


async def guard(
    db: Database, account_id: str, claim: Claim | None, run: Callable[[], Awaitable[T]]
) -> T | IdempotencyKey:
    """What `run()` answers, or the stored claim to replay instead: one found before running,
    or a concurrent twin's that made `run` raise ClaimTaken (`run` claims the key first in its
    unit of work, so the twin held and stored nothing)."""
    if claim is not None and (row := await db.run_read(find, account_id, claim)) is not None:
        return row
    try:
        return await run()
    except ClaimTaken:
        assert claim is not None
        row = await db.run_read(find, account_id, claim)
        if row is None:  # the twin's claim expired meanwhile: nothing to replay
            raise
        return row


def validate_key(key: str) -> str:
    if not 0 < len(key) <= MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidRequest(
            "Idempotency-Key must be 1–255 printable ASCII characters (a UUID is ideal).",
            param="Idempotency-Key",
        )
    return key


def fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def find(session: Session, account_id: str, claim: Claim) -> IdempotencyKey | None:
    """The unexpired claim on `key`; IdempotencyConflict when it was made for another body."""
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == claim.key,
            IdempotencyKey.expires_at > utcnow(),
        )
    )
    if row is not None and row.fingerprint != claim.fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request body. "
            "Use a new key for a new request.",
            param="Idempotency-Key",
        )
    return row


def take(
    session: Session,
    account_id: str,
    claim: Claim,
    *,
    ttl: timedelta,
    render_id: str | None = None,
    status_code: int | None = None,
    response: dict[str, Any] | None = None,
) -> None:
    """Insert the claim, first in the unit of work that acts on it: ClaimTaken when a
    concurrent twin inserted it first (the unique constraint), before anything was held."""
    now = utcnow()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == claim.key,
            IdempotencyKey.expires_at <= now,
        )
    )
    session.add(
        IdempotencyKey(
            account_id=account_id,
            key=claim.key,
            fingerprint=claim.fingerprint,
            render_id=render_id,
            status_code=status_code,
            response=response,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise ClaimTaken from None


def save_response(
    session: Session, account_id: str, claim: Claim, status_code: int, response: dict[str, Any]
) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == claim.key,
            IdempotencyKey.status_code.is_(None),
        )
        .values(status_code=status_code, response=response)
    )


def purge_expired(session: Session, now: datetime) -> None:
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
