"""What the database says of the queue, for dispatchers whose queue lives elsewhere (Celery):
depth, positions and whether a render has ended. Every API process shares these answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tds.models import Render, RenderStatus
from tds.models.render import FINAL


def is_final(session: Session, render_id: str) -> bool:
    status = session.scalar(select(Render.status).where(Render.id == render_id))
    return status is None or status in FINAL


def queued_count(session: Session) -> int:
    return session.scalar(select(func.count()).where(Render.status == RenderStatus.QUEUED)) or 0


def queue_positions(session: Session, render_ids: Sequence[str]) -> dict[str, int]:
    """For those of the renders still queued: 1 + the renders queued before each, oldest first
    (Celery queues are FIFO). One query for a whole page."""
    earlier = aliased(Render)
    ahead = (
        select(func.count())
        .where(earlier.status == RenderStatus.QUEUED, earlier.created_at < Render.created_at)
        .correlate(Render)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Render.id, ahead).where(
            Render.id.in_(render_ids), Render.status == RenderStatus.QUEUED
        )
    )
    return {render_id: count + 1 for render_id, count in rows}
