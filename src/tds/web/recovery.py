"""Links that come by mail: confirm an email address, reset a forgotten password.

Following a link (GET) only shows a page; the change is its form's POST. Mail scanners and link
previews fetch GET links on their own, and must neither use a link up nor confirm an address
for someone who never opened the mail.

Asking for a mail (a new confirmation link, a reset link) answers one page whatever the address:
whether it has an account, and whether a mail went, never shows (the mail itself goes after the
answer). Those requests count against TDS_SIGNUP_RATE_LIMIT, per client address and per email.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tds.accounts import email_tokens, passwords
from tds.accounts import service as accounts
from tds.api.deps import BaseUrl, RuntimeDep
from tds.api.runtime import Runtime
from tds.api.text import NUL
from tds.exceptions import InvalidRequest, RateLimited
from tds.web import outgoing
from tds.web.auth import NUL_EMAIL, check_form, form_page, set_notice
from tds.web.security import private

router = APIRouter()

Token = Annotated[str, Query(max_length=email_tokens.MAX_TOKEN_LENGTH)]
TokenField = Annotated[str, Form(max_length=email_tokens.MAX_TOKEN_LENGTH)]
EmailField = Annotated[str, Form(max_length=320)]
CsrfField = Annotated[str, Form()]


async def _limit_mail(request: Request, rt: Runtime, email: str) -> None:
    """One more mail asked for from this address, and to this email; RateLimited past the
    limit (the same whether the email has an account)."""
    address = rt.client_addresses.key(request.scope)
    try:
        await rt.signup_limiter.acquire(address)
        await rt.signup_limiter.acquire(f"mail\n{email}")
    except RateLimited as refused:
        retry = refused.headers.get("Retry-After", "60")
        raise RateLimited(
            f"Too many mails asked for (limit {rt.settings.signup_rate_limit}). "
            f"Retry after {retry} s.",
            headers=refused.headers,
        ) from None


async def _ask_for_mail(
    request: Request, rt: Runtime, email: str, template: str, **context: Any
) -> str | Response:
    """The normalised email of a mail request that may go ahead, or the page refusing it."""
    if NUL in email:
        return form_page(request, template, status_code=400, error=NUL_EMAIL, **context)
    try:
        normalised = accounts.normalise_email(email)
        await _limit_mail(request, rt, normalised)
    except InvalidRequest as error:
        return form_page(
            request, template, status_code=400, error=error.message, email=email, **context
        )
    except RateLimited as refused:
        return form_page(
            request, template, status_code=429, refused=refused, email=email, **context
        )
    return normalised


def _sent(request: Request, email: str, what: str) -> Response:
    return form_page(request, "check_mail.html", sent_to=email, what=what)


# Confirming an email address


@router.get("/verify-email")
async def verify_page(request: Request, rt: RuntimeDep, token: Token = "") -> Response:
    try:
        email = await rt.db.run_read(accounts.email_of_token, token, "verify")
    except InvalidRequest as error:
        return private(
            form_page(request, "verify_email.html", status_code=400, error=error.message)
        )
    return private(form_page(request, "verify_email.html", token=token, email=email))


@router.post("/verify-email")
async def verify(
    request: Request, rt: RuntimeDep, token: TokenField = "", csrf_token: CsrfField = ""
) -> Response:
    check_form(request, csrf_token)
    try:
        await rt.db.run_write(accounts.verify_email, token)
    except InvalidRequest as error:
        return private(
            form_page(request, "verify_email.html", status_code=400, error=error.message)
        )
    response = RedirectResponse("/login", status_code=303)
    set_notice(request, response, "verified")
    return response


@router.post("/verify-email/resend")
async def resend(
    request: Request,
    rt: RuntimeDep,
    base: BaseUrl,
    background: BackgroundTasks,
    email: EmailField = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_form(request, csrf_token)
    asked = await _ask_for_mail(request, rt, email, "login.html", unverified=True)
    if isinstance(asked, Response):
        return asked
    mail = await rt.db.run_write(accounts.resend_verification, asked, base=base)
    outgoing.send_later(background, rt.settings, mail)
    return _sent(request, asked, "verify")


# A forgotten password


@router.get("/forgot-password")
def forgot_page(request: Request) -> Response:
    return form_page(request, "forgot_password.html")


@router.post("/forgot-password")
async def forgot(
    request: Request,
    rt: RuntimeDep,
    base: BaseUrl,
    background: BackgroundTasks,
    email: EmailField = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_form(request, csrf_token)
    asked = await _ask_for_mail(request, rt, email, "forgot_password.html")
    if isinstance(asked, Response):
        return asked
    mail = await rt.db.run_write(accounts.start_password_reset, asked, base=base)
    outgoing.send_later(background, rt.settings, mail)
    return _sent(request, asked, "reset")


@router.get("/reset-password")
async def reset_page(request: Request, rt: RuntimeDep, token: Token = "") -> Response:
    try:
        email = await rt.db.run_read(accounts.email_of_token, token, "reset")
    except InvalidRequest as error:
        return private(
            form_page(request, "reset_password.html", status_code=400, error=error.message)
        )
    return private(form_page(request, "reset_password.html", token=token, email=email))


@router.post("/reset-password")
async def reset(
    request: Request,
    rt: RuntimeDep,
    token: TokenField = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_form(request, csrf_token)
    try:
        email = await rt.db.run_read(accounts.email_of_token, token, "reset")
    except InvalidRequest as error:
        return private(
            form_page(request, "reset_password.html", status_code=400, error=error.message)
        )
    try:
        passwords.check_strength(password)
    except InvalidRequest as error:
        return private(
            form_page(
                request,
                "reset_password.html",
                status_code=400,
                error=error.message,
                token=token,
                email=email,
            )
        )
    # Hashed outside the write transaction (argon2 would hold SQLite's write lock).
    password_hash = await anyio.to_thread.run_sync(passwords.hash_password, password)
    try:
        await rt.db.run_write(accounts.reset_password, token, password_hash)
    except InvalidRequest as error:  # used up by a twin meanwhile
        return private(
            form_page(request, "reset_password.html", status_code=400, error=error.message)
        )
    response = RedirectResponse("/login", status_code=303)
    set_notice(request, response, "reset")
    return response
