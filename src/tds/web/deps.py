"""Who is signed in, and the checks every dashboard form passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from tds.exceptions import LoginRequired
from tds.keys.service import Principal
from tds.models import Account
from tds.server.deps import RuntimeDep
from tds.server.runtime import Runtime
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


def _load(rt: Runtime, token: str) -> WebUser | None:
    with rt.db.read() as session:
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
        stale = sessions.needs_touch(row)
    if stale:
        with rt.db.write() as session:
            sessions.touch(session, row.id)
    return user


async def current_user(request: Request, rt: RuntimeDep) -> WebUser | None:
    token = request.cookies.get(session_cookie_name(request))
    if not token:
        return None
    return await run_in_threadpool(_load, rt, token)


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
