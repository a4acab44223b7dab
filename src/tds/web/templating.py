"""The Jinja2 environment and the page renderer every dashboard route uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from tds.web.deps import WebUser

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def page(
    request: Request,
    name: str,
    user: WebUser | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "active": request.url.path,
            "error": None,
            "signup_open": request.app.state.runtime.settings.signup == "open",
        }
        | context,
        status_code=status_code,
    )
