"""A render as the API shows it: its row, live progress and queue position, and links."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from tds import catalogue
from tds.dispatch.base import Dispatcher
from tds.models import Render, RenderStatus
from tds.models.render import IN_FLIGHT
from tds.renders import queries, schemas
from tds.storage.base import Storage


def _name(find: Callable[[str], catalogue.Option | None], value: str | None) -> str | None:
    option = find(value) if value else None
    return option.name if option else value


RenderRow = Render | Row[Any]  # an ORM object or a Core row of the renders table


def render_views(
    renders: Sequence[RenderRow], base: str, storage: Storage, dispatcher: Dispatcher
) -> list[schemas.Render]:
    """Renders as the API shows them, with live progress and queue positions asked of the
    dispatcher once for the whole list (with Celery, one Redis and one database round trip)."""
    in_flight = [render.id for render in renders if render.status in IN_FLIGHT]
    queued = [render.id for render in renders if render.status == RenderStatus.QUEUED]
    progress = dispatcher.progresses(in_flight) if in_flight else {}
    positions = dispatcher.queue_positions(queued) if queued else {}
    return [
        _view(render, base, storage, progress.get(render.id), positions.get(render.id))
        for render in renders
    ]


def render_view(
    render: RenderRow, base: str, storage: Storage, dispatcher: Dispatcher
) -> schemas.Render:
    return render_views([render], base, storage, dispatcher)[0]


def _view(
    render: RenderRow,
    base: str,
    storage: Storage,
    progress: tuple[int, int] | None,
    queue_position: int | None,
) -> schemas.Render:
    if render.status == RenderStatus.DONE:
        progress = (1, 1)
    api = f"{base}/api/v1/renders/{render.id}"
    return schemas.Render(
        id=render.id,
        kind=render.kind,
        status=render.status,
        source=render.source,
        project=render.project,
        parent_id=render.parent_id,
        scene_type=render.scene_type,
        architectural_style=_name(catalogue.find_style, render.architectural_style),
        lighting=_name(catalogue.find_lighting, render.lighting),
        resolution=render.resolution,
        prompt=render.prompt,
        negative_prompt=render.negative_prompt,
        seed=render.seed,
        geometry_fidelity=render.geometry_fidelity,
        strength=render.strength,
        input_type=render.input_type,
        min_fidelity=render.min_fidelity,
        width=render.width,
        height=render.height,
        input_image_url=storage.url(base, render.input_key),
        output_image_url=storage.url(base, render.output_key) if render.output_key else None,
        output_video_url=storage.url(base, render.video_key) if render.video_key else None,
        cost=render.cost,
        credits_used=render.credits_used,
        progress=schemas.Progress(value=progress[0], max=progress[1]) if progress else None,
        queue_position=queue_position,
        error=(
            schemas.RenderError(code=render.error_code, message=render.error_message or "")
            if render.error_code
            else None
        ),
        warnings=list(render.warnings or []),
        engine=render.engine,
        fidelity_score=render.fidelity_score,
        created_at=render.created_at,
        started_at=render.started_at,
        completed_at=render.completed_at,
        urls=schemas.RenderUrls(get=api, cancel=f"{api}/cancel"),
    )


def render_response(
    session: Session,
    account_id: str,
    render_id: str,
    *,
    base: str,
    storage: Storage,
    dispatcher: Dispatcher,
) -> schemas.RenderResponse:
    """One of the account's renders with the account's balance: every answer about a render."""
    render = queries.get_with_balance(session, account_id, render_id)
    return schemas.RenderResponse(
        render=render_view(render, base, storage, dispatcher), credits=render.account_credits
    )


def render_page(
    session: Session,
    account_id: str,
    *,
    limit: int,
    starting_after: str | None,
    base: str,
    storage: Storage,
    dispatcher: Dispatcher,
    project: str | None = None,
) -> schemas.RenderList:
    """A page of the account's renders, newest first (only `project`'s, when given)."""
    rows, has_more = queries.list_owned(
        session, account_id, limit=limit, starting_after=starting_after, project=project
    )
    return schemas.RenderList(data=render_views(rows, base, storage, dispatcher), has_more=has_more)
