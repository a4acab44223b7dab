"""Who is signed in, and the checks every dashboard form passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tds.api.deps import RuntimeDep
from tds.exceptions import LoginRequired
from tds.keys.service import Principal
from tds.models import Account, TeamMember
from tds.web import sessions
from tds.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    check_same_origin,
    check_token,
    session_cookie_name,
)


@dataclass(frozen=True)
class WebUser:
    """The signed-in person (`member_id`, `email`) and the team they work in: `account_id`
    is the team's account (their own unless they switched), whose plan and credits these are."""

    account_id: str
    email: str
    plan: str
    credits: int
    credits_held: int
    csrf_token: str
    member_id: str
    role: str
    team_name: str

    @property
    def principal(self) -> Principal:
        return Principal(
            account_id=self.account_id,
            plan=self.plan,
            key_id=None,
            member_id=self.member_id,
            role=self.role,
        )

    @property
    def manages_team(self) -> bool:
        return self.role in ("owner", "admin")


def _load(session: Session, token: str) -> tuple[WebUser, str | None] | None:
    """The session's user, and the session's id when its last-seen time is due a touch."""
    row = sessions.find(session, token)
    if row is None:
        return None
    person = session.get_one(Account, row.account_id)
    # The team chosen for this session, while the person is still in it; else their own.
    member = session.get(TeamMember, (row.team_id or person.id, person.id))
    if member is None:
        member = session.get_one(TeamMember, (person.id, person.id))
    team = person if member.team_id == person.id else session.get_one(Account, member.team_id)
    user = WebUser(
        account_id=team.id,
        email=person.email,
        plan=team.plan,
        credits=team.credits,
        credits_held=team.credits_held,
        csrf_token=row.csrf_token,
        member_id=person.id,
        role=member.role,
        team_name=team.team_name or team.email,
    )
    return user, (row.id if sessions.needs_touch(row) else None)


async def current_user(request: Request, rt: RuntimeDep) -> WebUser | None:
    token = request.cookies.get(session_cookie_name(request))
    if not token:
        return None
    found = await rt.db.run_read(_load, token)
    if found is None:
        return None
    user, stale = found
    if stale is not None:
        await rt.db.run_write(sessions.touch, stale)
    return user


async def signed_in(user: Annotated[WebUser | None, Depends(current_user)]) -> WebUser:
    if user is None:
        raise LoginRequired()
    return user


OptionalUser = Annotated[WebUser | None, Depends(current_user)]
User = Annotated[WebUser, Depends(signed_in)]


async def checked_user(request: Request, user: User) -> WebUser:
    """The signed-in user of a state-changing request that passed the CSRF checks."""
    check_same_origin(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    check_token(sent, user.csrf_token)
    return user


CheckedUser = Annotated[WebUser, Depends(checked_user)]
