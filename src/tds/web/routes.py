"""The dashboard wired into the app: pages, static files, and how its errors look."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tds.api.deps import BaseUrl, RuntimeDep
from tds.api.errors import error_response
from tds.exceptions import LoginRequired
from tds.web import auth, credits, gallery, recovery, settings, studio, teams, usage
from tds.web.deps import OptionalUser
from tds.web.errors import wants_page
from tds.web.templating import page


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (auth, recovery, studio, gallery, settings, teams, credits, usage):
        app.include_router(module.router, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def home(user: OptionalUser) -> RedirectResponse:
        return RedirectResponse("/studio" if user else "/login", status_code=303)

    @app.get("/developers", include_in_schema=False)
    def developers(request: Request, user: OptionalUser, base: BaseUrl, rt: RuntimeDep) -> Response:
        engines = [
            {
                "name": engine.name,
                "description": engine.description,
                "generative": getattr(engine, "generative", None),
                "kinds": rt.engines.kinds_of(engine),
            }
            for engine in rt.engines.engines()
        ]
        return page(request, "developers.html", user, base=base, engines=engines)

    # Every other error a page meets is a page too: tds.web.errors.error_page, which create_app
    # hands to tds.api.errors.install.
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, error: LoginRequired) -> Response:
        if wants_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return error_response(error)
