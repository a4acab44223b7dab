"""Renders made straight in the database, for tests of what reads them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tds.engines.base import RenderOptions
from tds.keys.service import Principal
from tds.kit.ids import new_id
from tds.models import Render
from tds.renders import lifecycle


def insert_render(session: Session, account_id: str) -> str:
    """A queued 1k render with a warning, holding its cost, as the API would have made it."""
    render_id = new_id("rnd")
    lifecycle.create(
        session,
        lambda _key, _data: None,
        render_id=render_id,
        principal=Principal(
            account_id=account_id, plan="pro", key_id=None, member_id=account_id, role="owner"
        ),
        options=RenderOptions(resolution="1k", prompt="évening light", seed=3),
        source="api",
        image=None,
        parent=_parent(session, account_id),
        hold_for=timedelta(minutes=5),
    )
    session.get_one(Render, render_id).warnings = ["a warning"]
    return render_id


def _parent(session: Session, account_id: str) -> Render:
    """A finished render to work from (so no image needs storing)."""
    parent = Render(
        id=new_id("rnd"),
        account_id=account_id,
        kind="render",
        status="done",
        scene_type="exterior",
        resolution="1k",
        geometry_fidelity=0.7,
        strength=0.5,
        width=64,
        height=48,
        input_key="inputs/parent-input.png",
        output_key="renders/parent-output.jpg",
        cost=0,
    )
    session.add(parent)
    session.flush()
    return parent
