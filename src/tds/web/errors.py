"""The dashboard's error pages.

A browser asking for a dashboard page (its Accept prefers HTML) gets an error as a page in the
dashboard's look, with a plain link back: the pages' CSP forbids inline scripts and
`javascript:` links, so "Go back" cannot be `history.back()`. Everything else gets the JSON
error: /api/v1 always, whatever it accepts, and the Studio's own fetch() calls, which ask for
JSON.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tds.api.errors import Problem
from tds.kit import request_id
from tds.web.deps import WebUser, current_user
from tds.web.templating import page

log = logging.getLogger("tds.web")

_HTML = ("text/html", "application/xhtml+xml")
_TITLES = {
    400: "That request could not be used",
    401: "Log in to continue",
    402: "Not enough credits",
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible here",
    409: "Conflict",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    502: "The model failed",
    503: "Unavailable right now",
}


def is_api(request: Request) -> bool:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return path == "/api" or path.startswith("/api/")


def _ranges(accept: str) -> dict[str, float]:
    """The media ranges of an Accept header with their q-values."""
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if media:
            ranges[media.lower()] = q
    return ranges


def _quality(ranges: dict[str, float], media: str) -> float:
    """The q-value of `media`: from its most specific matching range (RFC 9110, 12.5.1)."""
    kind = media.split("/", 1)[0]
    for candidate in (media, f"{kind}/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


def prefers_html(accept: str) -> bool:
    """Whether the client ranks HTML above JSON: a browser's navigation (`text/html, …,
    */*;q=0.8`), not a program's `*/*` or `application/json` (a tie goes to JSON)."""
    ranges = _ranges(accept or "*/*")
    html = max(_quality(ranges, media) for media in _HTML)
    return html > _quality(ranges, "application/json")


def wants_page(request: Request) -> bool:
    return not is_api(request) and prefers_html(request.headers.get("accept", ""))


def _message(request: Request, error: Exception, problem: Problem) -> str:
    if isinstance(error, StarletteHTTPException):  # the router's, worded for the API
        if problem.status == 404:
            return "There is no page at this address. Check the link, or start again below."
        if problem.status == 405:
            return f"This page does not take a {request.method} request; nothing was changed."
    return problem.message


async def _user(request: Request) -> WebUser | None:
    """Who is signed in, for the header; None when that cannot be told (the page still shows)."""
    try:
        return await current_user(request, request.app.state.runtime)
    except Exception:
        return None


async def error_page(request: Request, error: Exception, problem: Problem) -> Response | None:
    """The error as a page, or None when the request wants the JSON error."""
    if not wants_page(request):
        return None
    try:
        # A 5xx may come from the database itself: do not touch it again for the header.
        user = await _user(request) if problem.status < 500 else None
        response = page(
            request,
            "error.html",
            user,
            status_code=problem.status,
            title=_TITLES.get(problem.status, "Something went wrong"),
            message=_message(request, error, problem),
            back_href="/studio" if user else "/",
            back_label="Back to the Studio" if user else "Back to the start page",
            request_id=request_id.get(),
        )
    except Exception:
        log.exception("the error page for %s failed; answering JSON", request.url.path)
        return None
    for name, value in problem.headers.items():  # Retry-After, Allow, …
        response.headers[name] = value
    return response
