"""A Render row (plus live progress) as the API shows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row

from tds import catalogue
from tds.models import Render
from tds.renders import schemas, service
from tds.server.runtime import Runtime


def _name(find: Callable[[str], catalogue.Option | None], value: str | None) -> str | None:
    option = find(value) if value else None
    return option.name if option else value


def render_view(render: Render | Row[Any], base: str, rt: Runtime) -> schemas.Render:
    """`render` is an ORM object or a Core row of the renders table (same attributes)."""
    dispatcher, storage = rt.dispatcher, rt.storage
    in_flight = render.status in ("queued", "processing")
    progress = dispatcher.progress(render.id) if in_flight else None
    if render.status == "done":
        progress = (1, 1)
    api = f"{base}/api/v1/renders/{render.id}"
    return schemas.Render(
        id=render.id,
        kind=render.kind,
        status=render.status,
        source=render.source,
        parent_id=render.parent_id,
        scene_type=render.scene_type,
        architectural_style=_name(catalogue.find_style, render.style),
        lighting=_name(catalogue.find_lighting, render.lighting),
        resolution=render.resolution,
        prompt=render.prompt,
        negative_prompt=render.negative_prompt,
        seed=render.seed,
        geometry_fidelity=render.geometry_fidelity,
        strength=render.strength,
        input_type=render.input_type,
        width=render.width,
        height=render.height,
        input_image_url=storage.url(base, render.input_key),
        output_image_url=storage.url(base, render.output_key) if render.output_key else None,
        output_video_url=storage.url(base, render.video_key) if render.video_key else None,
        cost=render.cost,
        credits_used=render.credits_used,
        progress=schemas.Progress(value=progress[0], max=progress[1]) if progress else None,
        queue_position=dispatcher.queue_position(render.id) if render.status == "queued" else None,
        error=(
            schemas.RenderError(code=render.error_code, message=render.error_message or "")
            if render.error_code
            else None
        ),
        warnings=list(render.warnings or []),
        created_at=render.created_at,
        started_at=render.started_at,
        completed_at=render.completed_at,
        urls=schemas.RenderUrls(get=api, cancel=f"{api}/cancel"),
    )


def render_response(
    connection: Connection, rt: Runtime, base: str, account_id: str, render_id: str
) -> schemas.RenderResponse:
    """One of the account's renders with the account's balance: every answer about a render."""
    render = service.get_with_balance(connection, account_id, render_id)
    return schemas.RenderResponse(
        render=render_view(render, base, rt), credits=render.account_credits
    )
