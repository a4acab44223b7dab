"""Sign up, log in, log out.

Every answer here is the same whether an email has an account or not: a wrong password and an
unknown email get one 401 page, and a sign-up answers one redirect to the log-in page (signing
nobody in, since a session for new emails only would tell which exist). A sign-up mails a
confirmation link to a new address (and a note to an existing one: both send one mail); the
account logs in only once the address is confirmed (`tds.web.recovery`). The right password of
an unconfirmed account gets a 403 page saying so, with a form to have the link sent again.

Limits, per client address as `ClientAddresses` keys it (TDS_TRUSTED_PROXIES):

- TDS_LOGIN_RATE_LIMIT counts every log-in attempt from an address, and, separately, failed
  log-ins for one email from one address. Only failures count there (peeked before, recorded
  after), so an owner whose address never failed for their email logs in however many guesses
  others made at it from elsewhere.
- TDS_AUTH_FAILURE_RATE_LIMIT counts wrong passwords together with unknown API keys: an
  address past it is refused before its next password is even hashed.
- TDS_SIGNUP_RATE_LIMIT counts sign-ups that pass the form's checks, new and existing emails
  alike. TDS_SIGNUP=closed turns sign-up off (accounts come from `tds admin create-key`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, unquote

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response

from tds.accounts import passwords
from tds.accounts import service as accounts
from tds.api.deps import BaseUrl, RuntimeDep, runtime
from tds.api.runtime import Runtime
from tds.api.text import NUL
from tds.catalogue import DEFAULT_PLAN, PLANS
from tds.exceptions import InvalidRequest, RateLimited
from tds.mail import outbox_note
from tds.web import outgoing, sessions
from tds.web.deps import CheckedUser, OptionalUser
from tds.web.security import (
    FORM_COOKIE,
    check_same_origin,
    check_token,
    clear_session_cookie,
    form_token,
    is_secure,
    remember_form_token,
    session_cookie_name,
    set_session_cookie,
)
from tds.web.templating import page

router = APIRouter()

WRONG = "Wrong email or password."
NUL_EMAIL = "An email address cannot contain a NUL byte (\\x00)."
# The email a sign-up was for, from its redirect to the log-in page that names it (a cookie
# rather than the query string, which access logs would keep).
SIGNED_UP_COOKIE = "tds_signed_up"
# What the log-in page says once, after a confirmed address or a new password (a cookie: a
# query string anyone could put in a link).
NOTICE_COOKIE = "tds_notice"
NOTICES = {
    "verified": "Your email address is confirmed and your free credits are in: log in.",
    "reset": "Your password is changed and every session of the account has ended: log in with "
    "the new password.",
}
UNVERIFIED = (
    "This account's email address is not confirmed yet: follow the link in the mail we sent "
    "when it signed up, then log in. No mail? Have it sent again."
)


def set_notice(request: Request, response: Response, notice: str) -> None:
    response.set_cookie(
        NOTICE_COOKIE,
        notice,
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/login",
    )


def _safe_next(target: str) -> str:
    """Only paths on this site: never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/studio"


def form_page(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    refused: RateLimited | None = None,
    **context: object,
) -> Response:
    token = form_token(request)
    values: dict[str, object] = {
        "email": "",
        "next": "/studio",
        "mail_note": outbox_note(runtime(request).settings),
    } | context
    if refused is not None:
        values["error"] = refused.message
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
    if refused is not None:
        response.headers.update(refused.headers)  # Retry-After
    remember_form_token(request, response, token)
    return response


def _signup_open(request: Request) -> bool:
    return runtime(request).settings.signup == "open"


def _signup_closed(request: Request) -> Response:
    """TDS_SIGNUP=closed: 403, the page saying who makes accounts. Not 404: the page exists and
    says why it refuses, where a 404 would read as a broken link."""
    return form_page(request, "signup.html", status_code=403, closed=True)


async def _signed_in(request: Request, rt: Runtime, account_id: str, target: str) -> Response:
    """Start a fresh session (a new id at every log-in) and go to `target`."""
    old = request.cookies.get(session_cookie_name(request))
    token = await rt.db.run_write(sessions.renew, old, account_id)
    response = RedirectResponse(_safe_next(target), status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(FORM_COOKIE, path="/")
    return response


def check_form(request: Request, csrf_token: str) -> None:
    check_same_origin(request)
    check_token(csrf_token, request.cookies.get(FORM_COOKIE))


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "/studio") -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    signed_up = _signed_up_email(request)
    notice = NOTICES.get(request.cookies.get(NOTICE_COOKIE, ""))
    response = form_page(
        request,
        "login.html",
        next=_safe_next(next),
        signed_up=signed_up or "",
        email=signed_up or "",
        notice=notice,
    )
    if SIGNED_UP_COOKIE in request.cookies:
        response.delete_cookie(SIGNED_UP_COOKIE, path="/login")
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/login")
    return response


def _signed_up_email(request: Request) -> str | None:
    value = request.cookies.get(SIGNED_UP_COOKIE)
    if not value:
        return None
    try:
        return accounts.normalise_email(unquote(value))
    except InvalidRequest:
        return None


@router.post("/login")
async def login(
    request: Request,
    rt: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/studio",
) -> Response:
    check_form(request, csrf_token)
    if NUL in email:  # PostgreSQL cannot compare one with a text column
        return form_page(request, "login.html", status_code=400, error=NUL_EMAIL, next=next)
    address = rt.client_addresses.key(request.scope)
    # Unknown emails count like known ones, so a refusal tells nothing about an account.
    failures = f"{email.strip().lower()}\n{address}"
    try:
        await rt.login_limiter.acquire(address)
        await rt.auth_failure_limiter.peek(address)
        await rt.login_failure_limiter.peek(failures)
    except RateLimited as refused:
        return form_page(
            request, "login.html", status_code=429, refused=refused, email=email, next=next
        )
    # A write: an outdated hash is upgraded on the way.
    account = await rt.db.run_write(accounts.check_password, email, password)
    if account is None:
        await rt.login_failure_limiter.record(failures)
        await rt.auth_failure_limiter.record(address)
        return form_page(
            request, "login.html", status_code=401, error=WRONG, email=email, next=next
        )
    if account.email_verified_at is None:  # the right password: nothing told to a guesser
        return form_page(
            request,
            "login.html",
            status_code=403,
            error=UNVERIFIED,
            unverified=True,
            email=account.email,
            next=next,
        )
    return await _signed_in(request, rt, account.id, next)


@router.get("/signup")
def signup_page(request: Request, user: OptionalUser) -> Response:
    if not _signup_open(request):
        return _signup_closed(request)
    if user is not None:
        return RedirectResponse("/studio", status_code=303)
    return form_page(request, "signup.html")


@router.post("/signup")
async def signup(
    request: Request,
    rt: RuntimeDep,
    base: BaseUrl,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not _signup_open(request):
        return _signup_closed(request)
    check_form(request, csrf_token)
    if NUL in email:  # PostgreSQL cannot store one in a text column
        return form_page(request, "signup.html", status_code=400, error=NUL_EMAIL)
    try:  # a bad address or a weak password: nothing here depends on who has an account
        normalised = accounts.check_sign_up(email, password)
    except InvalidRequest as error:
        return form_page(request, "signup.html", status_code=400, error=error.message, email=email)
    try:
        await rt.signup_limiter.acquire(rt.client_addresses.key(request.scope))
    except RateLimited as refused:
        return form_page(request, "signup.html", status_code=429, refused=refused, email=email)
    # Hashed for existing emails too (so both answers take about as long), and outside the
    # write transaction, which would otherwise hold SQLite's write lock while argon2 works.
    password_hash = await anyio.to_thread.run_sync(passwords.hash_password, password)
    mail = await rt.db.run_write(accounts.sign_up, normalised, password_hash, base=base)
    # After the answer, so that neither the mail server's pace nor which mail it was shows.
    outgoing.send_later(background, rt.settings, mail)
    # One answer for a new and an existing email: to the log-in page, which names the email.
    response = RedirectResponse("/login", status_code=303)
    response.set_cookie(
        SIGNED_UP_COOKIE,
        quote(normalised, safe="@"),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/login",
    )
    return response


@router.post("/logout")
def logout(request: Request, rt: RuntimeDep, _user: CheckedUser) -> Response:
    token = request.cookies.get(session_cookie_name(request))
    if token:
        rt.db.write(sessions.revoke, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response
