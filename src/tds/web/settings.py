"""Settings → API keys, and the account page: credit history, password, sessions."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tds.accounts import passwords
from tds.accounts import service as accounts
from tds.api.deps import RuntimeDep
from tds.catalogue import PLANS
from tds.credits import ledger
from tds.exceptions import InvalidRequest, RateLimited
from tds.keys import service as keys
from tds.web import sessions
from tds.web.deps import CheckedUser, User, WebUser
from tds.web.security import clear_session_cookie, session_cookie_name
from tds.web.templating import page

router = APIRouter()

LEDGER_PAGE = 25
LEDGER_LABELS = {
    "grant": "Credits added",
    "hold": "Held for a render",
    "capture": "Spent on a render",
    "release": "Refunded",
    "expire": "Expired",
}


def _keys_page(request: Request, rt: RuntimeDep, user: WebUser, **context: Any) -> Response:
    # Owners and admins see (and may revoke) every key of the team; members their own.
    mine = None if user.manages_team else user.member_id
    rows = rt.db.read(keys.list_for_account, user.account_id, member_id=mine)
    return page(request, "keys.html", user, keys=rows, **context)


@router.get("/settings/keys")
def keys_page(request: Request, rt: RuntimeDep, user: User) -> Response:
    return _keys_page(request, rt, user)


@router.post("/settings/keys")
def create_key(
    request: Request,
    rt: RuntimeDep,
    user: CheckedUser,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    key, token = rt.db.write(
        keys.create, user.account_id, name, rt.key_secret, member_id=user.member_id
    )
    # Shown in this answer only; never stored, never shown again.
    response = _keys_page(request, rt, user, new_key=token, new_key_name=key.name)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/keys/{key_id}/revoke")
def revoke_key(key_id: str, rt: RuntimeDep, user: CheckedUser) -> Response:
    mine = None if user.manages_team else user.member_id
    rt.db.write(keys.revoke, key_id, account_id=user.account_id, member_id=mine)
    rt.principals.forget(key_id)
    return RedirectResponse("/settings/keys", status_code=303)


@router.get("/account")
def account_page(
    request: Request,
    rt: RuntimeDep,
    user: User,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    changed: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    notice = "Your password is changed; your other sessions have ended." if changed else None
    return _account(request, rt, user, page_number, password_notice=notice)


def _account(
    request: Request,
    rt: RuntimeDep,
    user: WebUser,
    page_number: int = 1,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    entries, has_more = rt.db.read(
        ledger.history, user.account_id, limit=LEDGER_PAGE, offset=(page_number - 1) * LEDGER_PAGE
    )
    # In a shared team, who spent what; a team of one needs no such column.
    spenders = {e.member_id for e in entries if e.member_id}
    people = rt.db.read(accounts.emails_of, spenders) if spenders - {user.account_id} else {}
    return page(
        request,
        "account.html",
        user,
        status_code=status_code,
        plan=PLANS[user.plan],
        entries=entries,
        people=people,
        labels=LEDGER_LABELS,
        page=page_number,
        has_more=has_more,
        min_length=passwords.MIN_LENGTH,
        **context,
    )


# The account page's password and sessions forms act for the person signed in (the session's
# own account), whichever team the page shows.


@router.post("/account/password")
async def change_password(
    request: Request,
    rt: RuntimeDep,
    user: CheckedUser,
    current_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    new_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    session_id = sessions.digest(request.cookies.get(session_cookie_name(request), ""))
    address = rt.client_addresses.key(request.scope)
    try:
        await rt.auth_failure_limiter.peek(address)
    except RateLimited as refused:
        return _refused(request, rt, user, 429, refused.message, refused.headers)
    stored = await rt.db.run_read(accounts.password_hash_of, session_id)
    if not await anyio.to_thread.run_sync(passwords.verify, stored, current_password):
        await rt.auth_failure_limiter.record(address)
        return _refused(request, rt, user, 400, "The current password is wrong; nothing changed.")
    try:
        passwords.check_strength(new_password)
    except InvalidRequest as error:
        return _refused(request, rt, user, 400, error.message)
    new_hash = await anyio.to_thread.run_sync(passwords.hash_password, new_password)
    try:
        await rt.db.run_write(accounts.change_password, session_id, stored, new_hash)
    except InvalidRequest as error:
        return _refused(request, rt, user, 409, error.message)
    return RedirectResponse("/account?changed=password", status_code=303)


@router.post("/account/sessions/end")
async def log_out_everywhere(request: Request, rt: RuntimeDep, user: CheckedUser) -> Response:
    token = request.cookies.get(session_cookie_name(request), "")
    await rt.db.run_write(accounts.end_every_session, sessions.digest(token))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response


def _refused(
    request: Request,
    rt: RuntimeDep,
    user: WebUser,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response:
    response = _account(request, rt, user, status_code=status, password_error=message)
    response.headers.update(headers or {})
    return response
