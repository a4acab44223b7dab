"""The account's renders: the gallery and one render's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tds.api.deps import BaseUrl, RuntimeDep
from tds.models import Render
from tds.renders import queries
from tds.renders.serialization import render_page, render_view
from tds.web.deps import User
from tds.web.templating import page

router = APIRouter()

PAGE_SIZE = 24


@router.get("/renders")
def gallery(
    request: Request, rt: RuntimeDep, base: BaseUrl, user: User, starting_after: str | None = None
) -> Response:
    renders = rt.db.read(
        render_page,
        user.account_id,
        limit=PAGE_SIZE,
        starting_after=starting_after,
        base=base,
        storage=rt.storage,
        dispatcher=rt.dispatcher,
    )
    return page(request, "gallery.html", user, renders=renders.data, has_more=renders.has_more)


@router.get("/renders/{render_id}")
def render_detail(
    request: Request, render_id: str, rt: RuntimeDep, base: BaseUrl, user: User
) -> Response:
    render, children = rt.db.read(_with_children, user.account_id, render_id)
    view = render_view(render, base, rt.storage, rt.dispatcher)
    return page(request, "render.html", user, r=view, children=children)


def _with_children(
    session: Session, account_id: str, render_id: str
) -> tuple[Render, list[Render]]:
    render = queries.get_owned(session, account_id, render_id)
    children = session.scalars(
        select(Render)
        .where(Render.parent_id == render_id, Render.account_id == account_id)
        .order_by(Render.created_at)
    )
    return render, list(children)
