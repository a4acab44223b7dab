"""Members, roles, caps and invitations of a team.

A team is an account: its credits, renders, uploads and keys are the team's. Every account is
its own personal team, owned by itself, and can invite others in. Owners and admins manage
members, keys and caps; members render and make their own keys. Only owners make or unmake
owners, and the account whose team it is always stays one of them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tds.accounts.service import normalise_email
from tds.credits import caps
from tds.credits.ledger import MAX_CREDITS
from tds.exceptions import Forbidden, InvalidRequest, NotFound
from tds.kit.db import utcnow
from tds.models import Account, ApiKey, TeamInvitation, TeamMember
from tds.models.team_member import ROLES

MANAGERS = ("owner", "admin")
INVITATION_LIFETIME = timedelta(days=7)
INVITED_ROLES = ("member", "admin")


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    role: str
    monthly_cap: int | None
    cap_left: int | None
    joined_at: datetime


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    role: str  # the caller's


def name_of(account: Account) -> str:
    return account.team_name or account.email


def membership(session: Session, team_id: str, member_id: str) -> TeamMember:
    row = session.get(TeamMember, (team_id, member_id))
    if row is None:
        raise NotFound(f"No member {member_id} in this team.")
    return row


def require_manager(session: Session, team_id: str, actor_id: str) -> TeamMember:
    actor = membership(session, team_id, actor_id)
    if actor.role not in MANAGERS:
        raise Forbidden("Only the team's owners and admins can do this.")
    return actor


def teams_of(session: Session, person_id: str) -> list[Team]:
    """The teams the person is in, their own first."""
    rows = session.execute(
        select(Account, TeamMember.role)
        .join(TeamMember, TeamMember.team_id == Account.id)
        .where(TeamMember.member_id == person_id)
        .order_by(Account.id != person_id, TeamMember.created_at)
    )
    return [Team(account.id, name_of(account), role) for account, role in rows]


def members(session: Session, team_id: str, now: datetime | None = None) -> list[Member]:
    now = now or utcnow()
    rows = session.execute(
        select(TeamMember, Account.email)
        .join(Account, Account.id == TeamMember.member_id)
        .where(TeamMember.team_id == team_id)
        .order_by(TeamMember.created_at, Account.email)
    )
    return [
        Member(m.member_id, email, m.role, m.monthly_cap, caps.left(m, now), m.created_at)
        for m, email in rows
    ]


def rename(session: Session, team_id: str, actor_id: str, name: str) -> None:
    if membership(session, team_id, actor_id).role != "owner":
        raise Forbidden("Only the team's owners can rename it.")
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise InvalidRequest("A team name is 1 to 100 printable characters.", param="name")
    session.get_one(Account, team_id).team_name = name


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    session: Session, team_id: str, actor_id: str, email: str, role: str = "member"
) -> tuple[TeamInvitation, str]:
    """A new invitation and the token its link carries (returned once, stored hashed)."""
    require_manager(session, team_id, actor_id)
    email = normalise_email(email)
    if role not in INVITED_ROLES:
        raise InvalidRequest(
            f"Invite as one of {', '.join(INVITED_ROLES)}; owners are made by promoting a member.",
            param="role",
        )
    already = session.scalar(
        select(TeamMember.member_id)
        .join(Account, Account.id == TeamMember.member_id)
        .where(TeamMember.team_id == team_id, Account.email == email)
    )
    if already is not None:
        raise InvalidRequest(f"{email} is already a member of this team.", param="email")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = TeamInvitation(
        id=_token_id(token),
        team_id=team_id,
        email=email,
        role=role,
        invited_by=actor_id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    return invitation, token


def open_invitation(session: Session, token: str) -> tuple[TeamInvitation, str]:
    """The invitation this token is for, and its team's name; NotFound when it is unknown,
    expired or already accepted (one message for all, so a link says nothing about others)."""
    invitation = session.get(TeamInvitation, _token_id(token)) if token else None
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at < utcnow():
        raise NotFound(
            "This invitation link is not valid any more: it was used, it expired (links last "
            f"{INVITATION_LIFETIME.days} days) or it was mistyped. Ask for a new one."
        )
    return invitation, name_of(session.get_one(Account, invitation.team_id))


def accept(session: Session, token: str, person_id: str) -> str:
    """Join the team the invitation is for, as the person signed in, and work in it from their
    next dashboard session on; the team's id."""
    invitation, _ = open_invitation(session, token)
    person = session.get_one(Account, person_id)
    if person.email != invitation.email:
        raise Forbidden(
            f"This invitation is for {invitation.email}; you are signed in as {person.email}. "
            "Sign in with the invited address to accept it."
        )
    invitation.accepted_at = utcnow()
    person.last_team_id = invitation.team_id  # their next dashboard session starts there
    if session.get(TeamMember, (invitation.team_id, person_id)) is None:
        session.add(
            TeamMember(team_id=invitation.team_id, member_id=person_id, role=invitation.role)
        )
    session.flush()
    return invitation.team_id


def update_member(
    session: Session,
    team_id: str,
    actor_id: str,
    member_id: str,
    *,
    role: str | None = None,
    monthly_cap: int | None = None,
    change_cap: bool = False,
) -> None:
    """Change a member's role, and their monthly cap when `change_cap` (None: no cap)."""
    actor = require_manager(session, team_id, actor_id)
    target = membership(session, team_id, member_id)
    if role is not None and role != target.role:
        if role not in ROLES:
            raise InvalidRequest(f"A role is one of {', '.join(ROLES)}.", param="role")
        if "owner" in (role, target.role) and actor.role != "owner":
            raise Forbidden("Only the team's owners can make or unmake owners.")
        if member_id == team_id:
            raise Forbidden("The account whose team this is stays one of its owners.")
        target.role = role
    if change_cap:
        if monthly_cap is not None and (
            isinstance(monthly_cap, bool)
            or not isinstance(monthly_cap, int)
            or not 0 <= monthly_cap <= MAX_CREDITS
        ):
            raise InvalidRequest(
                f"A monthly cap is a whole number of credits from 0 to {MAX_CREDITS:,}, or "
                "null for no cap.",
                param="monthly_cap",
            )
        target.monthly_cap = monthly_cap
    session.flush()


def remove_member(session: Session, team_id: str, actor_id: str, member_id: str) -> list[str]:
    """Take a member out of the team (or leave it, when actor and member are one); their keys
    for the team are revoked. Returns the revoked keys' ids."""
    target = membership(session, team_id, member_id)
    if member_id == team_id:
        raise Forbidden("The account whose team this is cannot leave it.")
    if actor_id != member_id:
        actor = require_manager(session, team_id, actor_id)
        if target.role == "owner" and actor.role != "owner":
            raise Forbidden("Only the team's owners can remove an owner.")
    revoked = list(
        session.scalars(
            update(ApiKey)
            .where(
                ApiKey.account_id == team_id,
                ApiKey.member_id == member_id,
                ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
            .returning(ApiKey.id)
        )
    )
    session.delete(target)
    session.flush()
    return revoked
