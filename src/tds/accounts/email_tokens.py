"""Single-use links sent by mail: a random token in the link, its SHA-256 in `email_tokens`.

A token is used up by one conditional UPDATE (`… WHERE used_at IS NULL AND expires_at > now`),
so two clicks racing on one link cannot both act on it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from tds.exceptions import InvalidRequest
from tds.kit.db import utcnow
from tds.models import EmailToken

Purpose = Literal["verify", "reset"]
LIFETIME: dict[Purpose, timedelta] = {"verify": timedelta(days=3), "reset": timedelta(hours=1)}
KEEP_USED = timedelta(days=7)  # spent and expired rows are deleted this long after expiry
MAX_TOKEN_LENGTH = 100


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, account_id: str, purpose: Purpose) -> str:
    """A new token for the account; the one to put in the link (never stored)."""
    now = utcnow()
    session.execute(delete(EmailToken).where(EmailToken.expires_at < now - KEEP_USED))
    token = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            id=digest(token),
            account_id=account_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        )
    )
    session.flush()
    return token


def _refusal(row: EmailToken | None, purpose: Purpose) -> InvalidRequest:
    again = {
        "verify": "Log in to have a new confirmation link sent.",
        "reset": "Ask for a new one on the “Forgot password?” page.",
    }[purpose]
    if row is None or row.purpose != purpose:
        reason = "This link is not valid (it may have been copied incompletely)."
    elif row.used_at is not None:
        reason = "This link was already used: each link works once."
    else:
        reason = "This link has expired."
    return InvalidRequest(f"{reason} {again}", param="token")


def check(session: Session, token: str, purpose: Purpose) -> EmailToken:
    """The live token's row, changing nothing; InvalidRequest saying why when it is unknown,
    used or expired."""
    row = session.get(EmailToken, digest(token)) if len(token) <= MAX_TOKEN_LENGTH else None
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at <= utcnow()
    ):
        raise _refusal(row, purpose)
    return row


def use(session: Session, token: str, purpose: Purpose) -> str:
    """Use the token up; the account id it was for. InvalidRequest (nothing changed) when it is
    unknown, already used or expired."""
    now = utcnow()
    token_id = digest(token) if len(token) <= MAX_TOKEN_LENGTH else ""
    used = session.execute(
        update(EmailToken)
        .where(
            EmailToken.id == token_id,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(EmailToken.account_id)
    ).scalar_one_or_none()
    if used is None:
        raise _refusal(session.get(EmailToken, token_id) if token_id else None, purpose)
    return used


def use_all(session: Session, account_id: str, purpose: Purpose) -> None:
    """Use up every live token of the account for `purpose` (after a reset or a password
    change, older reset links stop working)."""
    session.execute(
        update(EmailToken)
        .where(
            EmailToken.account_id == account_id,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
