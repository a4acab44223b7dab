"""Who is signed in, and the checks every dashboard form passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tds.api.deps import RuntimeDep
from tds.exceptions import LoginRequired
from tds.keys.service import Principal
from tds.models import Account
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
    account_id: str
    email: str
    plan: str
    credits: int
    credits_held: int
    csrf_token: str

    @property
    def principal(self) -> Principal:
        return Principal(account_id=self.account_id, plan=self.plan, key_id=None)


def _load(session: Session, token: str) -> tuple[WebUser, str | None] | None:
    """The session's user, and the session's id when its last-seen time is due a touch."""
    row = sessions.find(session, token)
    if row is None:
        return None
    account = session.get_one(Account, row.account_id)
    user = WebUser(
        account_id=account.id,
        email=account.email,
        plan=account.plan,
        credits=account.credits,
        credits_held=account.credits_held,
        csrf_token=row.csrf_token,
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
