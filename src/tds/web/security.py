"""Dashboard request checks: CSRF (synchronizer token plus Origin / Sec-Fetch-Site) and cookies."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from tds.exceptions import Forbidden

SESSION_COOKIE = "tds_session"
FORM_COOKIE = "tds_form"  # double-submit token for forms shown before log-in
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def session_cookie_name(request: Request) -> str:
    # __Host- cookies must be Secure: only behind https (plain http is for localhost).
    return f"__Host-{SESSION_COOKIE}" if is_secure(request) else SESSION_COOKIE


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        session_cookie_name(request),
        token,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(session_cookie_name(request), path="/")


def form_token(request: Request) -> str:
    """The CSRF token for a form shown before log-in: the form echoes the cookie's value."""
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)


def remember_form_token(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        FORM_COOKIE, token, httponly=True, samesite="strict", secure=is_secure(request), path="/"
    )


def check_same_origin(request: Request) -> None:
    """Refuse state changes sent from another site, whatever the token says."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Forbidden("This form was sent from another site; nothing was changed.")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Forbidden("This form was sent from another site; nothing was changed.")


def check_token(sent: str | None, expected: str | None) -> None:
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "The form's security token is missing or out of date. Reload the page and try again."
        )


def private(response: Response) -> Response:
    """A page whose URL carries a token (an emailed link): never cached, never named in a
    Referer to another site. Not "no-referrer": under it Chromium posts the page's own form
    with `Origin: null`, which check_same_origin must refuse."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
