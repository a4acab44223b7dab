"""Server-side browser sessions: a random token in the cookie, its SHA-256 in the database.

Revocable (log out deletes the row), rotated at every log-in, with an idle and an absolute
limit. Not Starlette's signed-cookie sessions, which cannot be revoked. A password reset ends
all of an account's sessions, a password change all but the one that made it, and "Log out
everywhere" all of them (`tds.accounts.service.end_sessions`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from tds.exceptions import NotFound
from tds.kit.db import utcnow
from tds.models import Account, TeamMember, WebSession

IDLE = timedelta(days=7)
ABSOLUTE = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often


def digest(token: str) -> str:
    """A session's id: the SHA-256 of its cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


_digest = digest


def create(session: Session, account_id: str) -> str:
    """A new session for the account, working in the team it worked in last; the token for
    the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            id=_digest(token),
            account_id=account_id,
            team_id=session.get_one(Account, account_id).last_team_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE,
        )
    )
    return token


def find(session: Session, token: str) -> WebSession | None:
    """The live session for a cookie token; None when unknown, idle too long or expired."""
    row = session.get(WebSession, _digest(token))
    now = utcnow()
    if row is None or row.expires_at <= now or row.last_seen_at <= now - IDLE:
        return None
    return row


def needs_touch(row: WebSession) -> bool:
    return row.last_seen_at < utcnow() - TOUCH_EVERY


def touch(session: Session, session_id: str) -> None:
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow())
    )


def revoke(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def renew(session: Session, old: str | None, account_id: str) -> str:
    """A fresh session for a log-in (a new id every time), ending the one it replaces."""
    if old:
        revoke(session, old)
    return create(session, account_id)


def switch_team(session: Session, session_id: str, team_id: str) -> None:
    """Work in `team_id` from now on in this browser; NotFound unless the person is a member
    (one answer for teams that exist and teams that do not)."""
    row = session.get(WebSession, session_id)
    if row is None or session.get(TeamMember, (team_id, row.account_id)) is None:
        raise NotFound("You are not a member of that team.")
    row.team_id = None if team_id == row.account_id else team_id
    session.get_one(Account, row.account_id).last_team_id = row.team_id  # where the next starts
