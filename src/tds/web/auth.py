"""Sign up, log in, log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tds.accounts import passwords
from tds.accounts import service as accounts
from tds.api.deps import RuntimeDep
from tds.api.runtime import Runtime
from tds.api.text import NUL
from tds.catalogue import DEFAULT_PLAN, PLANS
from tds.exceptions import InvalidRequest, RateLimited
from tds.web import sessions
from tds.web.deps import CheckedUser, OptionalUser
from tds.web.security import (
    FORM_COOKIE,
    check_same_origin,
    check_token,
    clear_session_cookie,
    form_token,
    remember_form_token,
    session_cookie_name,
    set_session_cookie,
)
from tds.web.templating import page

router = APIRouter()

WRONG = "Wrong email or password."
NUL_EMAIL = "An email address cannot contain a NUL byte (\\x00)."


def _safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/studio"


def _form(request: Request, name: str, *, status_code: int = 200, **context: object) -> Response:
    token = form_token(request)
    values: dict[str, object] = {"email": "", "next": "/studio"} | context
    response = page(
        request,
        name,
        None,
        status_code=status_code,
        form_token=token,
        free_credits=PLANS[DEFAULT_PLAN].monthly_credits,
        min_length=passwords.MIN_LENGTH,
        **values,
    )
    remember_form_token(request, response, token)
    return response


async def _signed_in(request: Request, rt: Runtime, account_id: str, target: str) -> Response:
    """Start a fresh session (a new id at every log-in) and go to `target`."""
    old = request.cookies.get(session_cookie_name(request))
    token = await rt.db.run_write(sessions.renew, old, account_id)
    response = RedirectResponse(_safe_next(target), status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(FORM_COOKIE, path="/")
    return response


def _check_form(request: Request, csrf_token: str) -> None:
    check_same_origin(request)
    check_token(csrf_token, request.cookies.get(FORM_COOKIE))


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "/studio") -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _form(request, "login.html", next=_safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    rt: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/studio",
) -> Response:
    _check_form(request, csrf_token)
    if NUL in email:  # PostgreSQL cannot compare one with a text column
        return _form(request, "login.html", status_code=400, error=NUL_EMAIL, next=next)
    address = request.client.host if request.client else "unknown"
    try:  # per address and per account; unknown emails count the same
        await rt.login_limiter.acquire(f"address:{address}")
        await rt.login_limiter.acquire(f"email:{email.strip().lower()}")
    except RateLimited as error:
        return _form(
            request, "login.html", status_code=429, error=error.message, email=email, next=next
        )
    # A write: an outdated hash is upgraded on the way.
    account = await rt.db.run_write(accounts.check_password, email, password)
    if account is None:
        return _form(request, "login.html", status_code=401, error=WRONG, email=email, next=next)
    return await _signed_in(request, rt, account.id, next)


@router.get("/signup")
def signup_page(request: Request, user: OptionalUser) -> Response:
    if user is not None:
        return RedirectResponse("/studio", status_code=303)
    return _form(request, "signup.html")


@router.post("/signup")
async def signup(
    request: Request,
    rt: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    _check_form(request, csrf_token)
    if NUL in email:  # PostgreSQL cannot store one in a text column
        return _form(request, "signup.html", status_code=400, error=NUL_EMAIL)
    try:
        account = await rt.db.run_write(accounts.sign_up, email, password)
    except InvalidRequest as error:
        return _form(request, "signup.html", status_code=400, error=error.message, email=email)
    return await _signed_in(request, rt, account.id, "/studio")


@router.post("/logout")
def logout(request: Request, rt: RuntimeDep, _user: CheckedUser) -> Response:
    token = request.cookies.get(session_cookie_name(request))
    if token:
        rt.db.write(sessions.revoke, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response
