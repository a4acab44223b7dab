"""The account's renders: the gallery (all, or one project code's) and one render's page."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tds.api.deps import BaseUrl, RuntimeDep
from tds.models import Render
from tds.renders import projects, queries
from tds.renders.serialization import render_page, render_view
from tds.web.deps import User
from tds.web.templating import page

router = APIRouter()

PAGE_SIZE = 24
MAX_PROJECTS = 500  # the filter's choices: the team's codes, most recently used first


@router.get("/renders")
def gallery(
    request: Request,
    rt: RuntimeDep,
    base: BaseUrl,
    user: User,
    starting_after: str | None = None,
    project: str | None = None,
) -> Response:
    # An empty choice ("All projects") is no filter; anything else is checked as the API does.
    chosen = projects.clean(project) if project and project.strip() else None
    renders = rt.db.read(
        render_page,
        user.account_id,
        limit=PAGE_SIZE,
        starting_after=starting_after,
        base=base,
        storage=rt.storage,
        dispatcher=rt.dispatcher,
        project=chosen,
    )
    codes = rt.db.read(project_codes, user.account_id)
    if chosen is not None and chosen not in codes:
        codes.insert(0, chosen)
    older = None
    if renders.has_more and renders.data:
        query = {"starting_after": renders.data[-1].id} | ({"project": chosen} if chosen else {})
        older = "/renders?" + urlencode(query)
    return page(
        request,
        "gallery.html",
        user,
        renders=renders.data,
        has_more=renders.has_more,
        older=older,
        project=chosen,
        projects=codes,
    )


def project_codes(session: Session, account_id: str) -> list[str]:
    """The project codes the account's renders were billed to, most recently used first."""
    last_used = (
        select(Render.project)
        .where(Render.account_id == account_id, Render.project.is_not(None))
        .group_by(Render.project)
        .order_by(func.max(Render.created_at).desc())
        .limit(MAX_PROJECTS)
    )
    return [code for code in session.scalars(last_used) if code]


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
