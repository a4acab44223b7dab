"""The account's renders: the gallery and one render's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from tds.models import Render
from tds.renders import service
from tds.renders.views import render_view, render_views
from tds.server.deps import BaseUrl, RuntimeDep
from tds.web.deps import User
from tds.web.templating import page

router = APIRouter()

PAGE_SIZE = 24


@router.get("/renders")
def gallery(
    request: Request, rt: RuntimeDep, base: BaseUrl, user: User, starting_after: str | None = None
) -> Response:
    with rt.db.read() as session:
        rows, has_more = service.list_owned(
            session, user.account_id, limit=PAGE_SIZE, starting_after=starting_after
        )
        renders = render_views(rows, base, rt)
    return page(request, "gallery.html", user, renders=renders, has_more=has_more)


@router.get("/renders/{render_id}")
def render_page(
    request: Request, render_id: str, rt: RuntimeDep, base: BaseUrl, user: User
) -> Response:
    with rt.db.read() as session:
        render = render_view(service.get_owned(session, user.account_id, render_id), base, rt)
        children = list(
            session.scalars(
                select(Render)
                .where(Render.parent_id == render_id, Render.account_id == user.account_id)
                .order_by(Render.created_at)
            )
        )
    return page(request, "render.html", user, r=render, children=children)
