"""Claim, check and replay `Idempotency-Key`s.

The same key with the same body replays the first answer and never runs (or charges) twice; the
same key with another body is 409 idempotency_conflict. A key is claimed in the same transaction
that holds the credits, so two concurrent requests with one key cannot both create a render.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tds.exceptions import IdempotencyConflict, InvalidRequest
from tds.kit.db import utcnow
from tds.models import IdempotencyKey

MAX_LENGTH = 255


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


def find(session: Session, account_id: str, key: str, fp: str) -> IdempotencyKey | None:
    """The unexpired claim on `key`; IdempotencyConflict when it was made for another body."""
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at > utcnow(),
        )
    )
    if row is not None and row.fingerprint != fp:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used with a different request body. "
            "Use a new key for a new request.",
            param="Idempotency-Key",
        )
    return row


def claim(
    session: Session,
    account_id: str,
    key: str,
    fp: str,
    *,
    ttl: timedelta,
    render_id: str | None = None,
    status_code: int | None = None,
    response: dict[str, Any] | None = None,
) -> None:
    """Insert the claim; the unique constraint raises IntegrityError on a concurrent twin."""
    now = utcnow()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at <= now,
        )
    )
    session.add(
        IdempotencyKey(
            account_id=account_id,
            key=key,
            fingerprint=fp,
            render_id=render_id,
            status_code=status_code,
            response=response,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()


def save_response(
    session: Session, account_id: str, key: str, status_code: int, response: dict[str, Any]
) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status_code.is_(None),
        )
        .values(status_code=status_code, response=response)
    )


def purge_expired(session: Session, now: datetime) -> None:
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
