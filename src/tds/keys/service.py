"""Issue, look up and revoke API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tds.exceptions import NotFound
from tds.keys import tokens
from tds.kit.db import utcnow
from tds.kit.ids import new_id
from tds.models import Account, ApiKey, TeamMember

LAST_USED_RESOLUTION = timedelta(minutes=1)  # write last_used_at at most once a minute


@dataclass(frozen=True)
class Principal:
    """Who is calling, as checked for this request: the team whose credits and objects are in
    play (`account_id`, a person's own account when they work alone), the member acting in it
    and their role there, and the key (None when the dashboard acts for a signed-in person)."""

    account_id: str
    plan: str
    key_id: str | None
    member_id: str
    role: str
    needs_touch: bool = False  # last_used_at is older than LAST_USED_RESOLUTION


def create(
    session: Session, account_id: str, name: str, secret: bytes, *, member_id: str | None = None
) -> tuple[ApiKey, str]:
    """A new key spending the account's (team's) credits, made by `member_id` (the account
    itself by default). The plain key is returned here once and never stored."""
    token = tokens.generate()
    key = ApiKey(
        id=new_id("key"),
        account_id=account_id,
        member_id=member_id or account_id,
        name=name.strip()[:100] or "API key",
        prefix=tokens.LIVE_PREFIX,
        last4=token[-4:],
        digest=tokens.digest(token, secret),
    )
    session.add(key)
    session.flush()
    return key, token


def list_for_account(
    session: Session, account_id: str, *, member_id: str | None = None
) -> list[tuple[ApiKey, str]]:
    """The account's keys (only `member_id`'s when given), each with its maker's email."""
    query = (
        select(ApiKey, Account.email)
        .join(Account, Account.id == ApiKey.member_id)
        .where(ApiKey.account_id == account_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
    )
    if member_id is not None:
        query = query.where(ApiKey.member_id == member_id)
    return [(key, email) for key, email in session.execute(query)]


def revoke(
    session: Session,
    key_id: str,
    *,
    account_id: str | None = None,
    member_id: str | None = None,
) -> ApiKey:
    """Revoke a key (only the account's own when `account_id` is given, and only one that
    `member_id` made when that is given too)."""
    key = session.get(ApiKey, key_id)
    if (
        key is None
        or (account_id is not None and key.account_id != account_id)
        or (member_id is not None and key.member_id != member_id)
    ):
        raise NotFound(f"No API key with the id {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def authenticate(session: Session, token: str, secret: bytes) -> Principal | None:
    """The principal for a well-formed, known, unrevoked key; None otherwise."""
    if not tokens.is_well_formed(token):
        return None  # junk never reaches the database
    return lookup(session, tokens.digest(token, secret))


def lookup(session: Session, digest: str) -> Principal | None:
    """The principal for an unrevoked key with this digest whose maker is still in its team;
    None otherwise."""
    row = session.execute(
        select(
            ApiKey.id,
            ApiKey.account_id,
            ApiKey.member_id,
            ApiKey.last_used_at,
            Account.plan,
            TeamMember.role,
        )
        .join(Account, Account.id == ApiKey.account_id)
        .join(
            TeamMember,
            (TeamMember.team_id == ApiKey.account_id) & (TeamMember.member_id == ApiKey.member_id),
        )
        .where(ApiKey.digest == digest, ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    stale = row.last_used_at is None or row.last_used_at < utcnow() - LAST_USED_RESOLUTION
    return Principal(
        account_id=row.account_id,
        plan=row.plan,
        key_id=row.id,
        member_id=row.member_id,
        role=row.role,
        needs_touch=stale,
    )


def touch(session: Session, digest: str) -> None:
    """Record use; called only when Principal.needs_touch, so at most about once a minute."""
    session.execute(update(ApiKey).where(ApiKey.digest == digest).values(last_used_at=utcnow()))
