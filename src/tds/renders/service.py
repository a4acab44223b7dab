"""Render lifecycle in the database: create (with its hold), start, complete, fail, cancel.

Every transition is a guarded UPDATE on the status, so a late worker, a cancel and the reaper
can race freely: exactly one of them moves a render out of flight, and only that one resolves
its hold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from tds import catalogue
from tds.catalogue import PLANS
from tds.config import Settings
from tds.credits import ledger
from tds.engines.base import Kind
from tds.exceptions import (
    InvalidRequest,
    KindUnavailable,
    NotFound,
    PlanLimit,
    RenderFinished,
)
from tds.images.intake import CleanImage
from tds.keys.service import Principal
from tds.kit.db import utcnow
from tds.models import Account, Render
from tds.models.render import FINAL, IN_FLIGHT
from tds.renders.schemas import RenderCreate
from tds.storage.base import Put, new_key

log = logging.getLogger("tds.renders")

MAX_ATTEMPTS = 2  # a render interrupted twice by restarts fails instead of trying again
DEFAULT_STRENGTH = 0.5


def check_allowed(principal: Principal, body: RenderCreate, engine_kinds: frozenset[Kind]) -> None:
    """Refuse what no engine serves or the plan does not include, before any credit is held."""
    if body.kind not in engine_kinds:
        served = ", ".join(sorted(engine_kinds))
        raise KindUnavailable(
            f"This server's engine does not offer kind {body.kind!r} (it serves: {served}). "
            "GET /api/v1/styles lists what is available.",
            param="kind",
        )
    plan = PLANS[principal.plan]
    if body.kind not in plan.kinds:
        raise PlanLimit(
            f"The {plan.name} plan does not include {body.kind}; upgrade to Pro or Studio.",
            param="kind",
        )
    if catalogue.resolution_rank(body.resolution) > catalogue.resolution_rank(plan.max_resolution):
        raise PlanLimit(
            f"The {plan.name} plan renders up to {plan.max_resolution}; choose "
            f"{plan.max_resolution} or lower, or upgrade for {body.resolution}.",
            param="resolution",
        )


def get_owned(session: Session, account_id: str, render_id: str) -> Render:
    render = session.get(Render, render_id)
    if render is None or render.account_id != account_id:
        raise NotFound(f"No render with the id {render_id}.", param="render_id")
    return render


_WITH_BALANCE = (
    select(Render.__table__, Account.credits.label("account_credits"))
    .join(Account, Account.id == Render.account_id)
    .where(Render.id == bindparam("p_id"), Render.account_id == bindparam("p_account"))
)


def get_with_balance(connection: Connection, account_id: str, render_id: str) -> Row[Any]:
    """One of the account's renders as a row (attributes as on Render) plus `account_credits`:
    what every answer about a render shows, in one query."""
    row = connection.execute(_WITH_BALANCE, {"p_id": render_id, "p_account": account_id}).first()
    if row is None:
        raise NotFound(f"No render with the id {render_id}.", param="render_id")
    return row


def parent_for(session: Session, account_id: str, render_id: str) -> Render:
    parent = get_owned(session, account_id, render_id)
    if parent.status != "done" or parent.output_key is None:
        raise InvalidRequest(
            f"Render {render_id} is {parent.status}; only a finished render can be worked on.",
            param="render_id",
        )
    return parent


def create(
    session: Session,
    put: Put,
    settings: Settings,
    *,
    render_id: str,
    principal: Principal,
    body: RenderCreate,
    image: CleanImage | None,
    parent: Render | None,
    seed: int,
) -> None:
    """Hold the cost, store a new input image and insert the queued render.

    The caller commits (with `put` staged on that transaction), then dispatches.
    """
    if image is not None:
        width, height = catalogue.output_size(image.width, image.height, body.resolution)
        input_key = new_key("inputs", image.extension)
    else:
        assert parent is not None
        assert parent.output_key is not None
        width, height = catalogue.output_size(parent.width, parent.height, body.resolution)
        input_key = parent.output_key
    cost = catalogue.COSTS[body.kind][body.resolution]
    now = utcnow()
    hold_id = ledger.hold(
        session,
        principal.account_id,
        cost,
        expires_at=now + timedelta(seconds=settings.queue_timeout_seconds),
        render_id=render_id,
    )
    if image is not None:
        put(input_key, image.data)
    session.connection().execute(
        insert(Render),
        dict(
            id=render_id,
            account_id=principal.account_id,
            api_key_id=principal.key_id,
            parent_id=parent.id if parent else None,
            kind=body.kind,
            status="queued",
            source=body.source,
            scene_type=body.scene_type,
            style=body.architectural_style,
            lighting=body.lighting,
            resolution=body.resolution,
            prompt=body.prompt,
            negative_prompt=body.negative_prompt,
            seed=seed,
            geometry_fidelity=body.geometry_fidelity,
            strength=DEFAULT_STRENGTH if body.strength is None else body.strength,
            input_type=body.input_type,
            width=width,
            height=height,
            input_key=input_key,
            cost=cost,
            credits_used=0,
            hold_id=hold_id,
            attempts=0,
            warnings=[],
            created_at=now,
        ),
    )


@dataclass(frozen=True)
class Started:
    """What a worker needs to run a render it just started."""

    id: str
    kind: str
    input_key: str
    width: int
    height: int
    scene_type: str
    style: str | None
    lighting: str | None
    prompt: str
    negative_prompt: str
    seed: int
    geometry_fidelity: float
    strength: float
    input_type: str | None


_START = (
    update(Render)
    .where(Render.id == bindparam("p_id"), Render.status == "queued")
    .values(status="processing", started_at=bindparam("p_now"), attempts=Render.attempts + 1)
    .returning(Render.hold_id, *(getattr(Render, f.name) for f in fields(Started)))
)
_COMPLETE = (
    update(Render)
    .where(Render.id == bindparam("p_id"), Render.status == "processing")
    .values(
        status="done",
        output_key=bindparam("p_output"),
        video_key=bindparam("p_video"),
        warnings=bindparam("p_warnings", type_=JSON),
        completed_at=bindparam("p_now"),
        credits_used=Render.cost,
    )
    .returning(Render.hold_id)
)


def start(session: Session, render_id: str, lease: timedelta) -> Started | None:
    """Mark a queued render processing; None when it is no longer queued (canceled, reaped)."""
    now = utcnow()
    row = session.connection().execute(_START, {"p_id": render_id, "p_now": now}).first()
    if row is None:
        return None
    if row.hold_id:
        ledger.extend(session, row.hold_id, now + lease)
    return Started(**{f.name: getattr(row, f.name) for f in fields(Started)})


def complete(
    session: Session, render_id: str, output_key: str, video_key: str | None, warnings: list[str]
) -> bool:
    """Record the output and capture the hold; False when the render left processing meanwhile."""
    done = (
        session.connection()
        .execute(
            _COMPLETE,
            {
                "p_id": render_id,
                "p_output": output_key,
                "p_video": video_key,
                "p_warnings": warnings,
                "p_now": utcnow(),
            },
        )
        .first()
    )
    if done is None:
        return False
    if done.hold_id:
        ledger.capture(session, done.hold_id, render_id)
    return True


def fail(
    session: Session,
    render_id: str,
    code: str,
    message: str,
    *,
    statuses: Sequence[str] = IN_FLIGHT,
    status: str = "failed",
) -> bool:
    """End an in-flight render as failed (or canceled) and release its hold in full."""
    ended = session.execute(
        update(Render)
        .where(Render.id == render_id, Render.status.in_(statuses))
        .values(
            status=status,
            error_code=code if status == "failed" else None,
            error_message=message if status == "failed" else None,
            completed_at=utcnow(),
        )
        .returning(Render.hold_id)
        .execution_options(synchronize_session=False)
    ).first()
    if ended is None:
        return False
    if ended.hold_id:
        ledger.release(session, ended.hold_id, render_id, note=f"{status}: {code}")
    return True


def cancel(session: Session, account_id: str, render_id: str) -> Render:
    render = get_owned(session, account_id, render_id)
    if render.status in FINAL:
        raise RenderFinished(f"Render {render_id} is already {render.status}; nothing to cancel.")
    fail(session, render_id, "canceled", "Canceled by the user.", status="canceled")
    session.refresh(render)
    return render


def reap(session: Session, now: datetime) -> list[str]:
    """Fail renders whose hold outlived its lease (a stuck engine, a lost job) and refund them."""
    reaped = []
    for hold_id in ledger.expired_holds(session, now):
        render_id = session.scalar(select(Render.id).where(Render.hold_id == hold_id))
        if render_id and fail(
            session,
            render_id,
            "timeout",
            "The render did not finish in time; its credits were refunded.",
        ):
            reaped.append(render_id)
        else:
            ledger.release(session, hold_id, render_id or "", note="expired")
    return reaped


@dataclass(frozen=True)
class Pending:
    render_id: str
    account_id: str
    max_in_flight: int


def _retry_or_fail(session: Session, render: Render) -> None:
    """An interrupted render goes back to queued, or fails and is refunded after MAX_ATTEMPTS."""
    if render.attempts >= MAX_ATTEMPTS:
        fail(
            session,
            render.id,
            "interrupted",
            "The render was interrupted twice (a restart, a lost worker); "
            "its credits were refunded.",
            statuses=("processing",),
        )
        return
    render.status = "queued"
    session.flush()


def recover(session: Session) -> list[Pending]:
    """After a restart: requeue interrupted renders (or fail them after MAX_ATTEMPTS).

    Returns every queued render, oldest first, for the dispatcher.
    """
    for render in session.scalars(select(Render).where(Render.status == "processing")):
        _retry_or_fail(session, render)
    rows = session.execute(
        select(Render.id, Render.account_id, Account.plan)
        .join(Account, Account.id == Render.account_id)
        .where(Render.status == "queued")
        .order_by(Render.created_at)
    )
    return [Pending(row.id, row.account_id, PLANS[row.plan].max_in_flight) for row in rows]


def resume_redelivered(session: Session, render_id: str) -> None:
    """A queue delivered a render that is already processing: the worker that had it died
    (its job came back unacknowledged). Queue it again, or fail and refund it after
    MAX_ATTEMPTS; a render in any other state is left alone."""
    render = session.get(Render, render_id, with_for_update=True)
    if render is not None and render.status == "processing":
        log.warning("render %s: its worker was lost during attempt %d", render_id, render.attempts)
        _retry_or_fail(session, render)


def account_at_limit(session: Session, render_id: str) -> bool:
    """Whether the render's account already runs as many renders as its plan allows."""
    row = session.execute(
        select(Render.account_id, Account.plan)
        .join(Account, Account.id == Render.account_id)
        .where(Render.id == render_id)
    ).first()
    if row is None:
        return False
    running = session.scalar(
        select(func.count()).where(
            Render.account_id == row.account_id, Render.status == "processing"
        )
    )
    return (running or 0) >= PLANS[row.plan].max_in_flight


def is_final(session: Session, render_id: str) -> bool:
    status = session.scalar(select(Render.status).where(Render.id == render_id))
    return status is None or status in FINAL


def queued_count(session: Session) -> int:
    return session.scalar(select(func.count()).where(Render.status == "queued")) or 0


def queue_positions(session: Session, render_ids: Sequence[str]) -> dict[str, int]:
    """For those of the renders still queued: 1 + the renders queued before each, oldest first
    (Celery queues are FIFO). One query for a whole page."""
    earlier = aliased(Render)
    ahead = (
        select(func.count())
        .where(earlier.status == "queued", earlier.created_at < Render.created_at)
        .correlate(Render)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Render.id, ahead).where(Render.id.in_(render_ids), Render.status == "queued")
    )
    return {render_id: count + 1 for render_id, count in rows}


def list_owned(
    session: Session, account_id: str, *, limit: int, starting_after: str | None
) -> tuple[list[Render], bool]:
    """Newest first; `starting_after` is the id of the last render of the previous page."""
    query = select(Render).where(Render.account_id == account_id)
    if starting_after:
        cursor = session.get(Render, starting_after)
        if cursor is None or cursor.account_id != account_id:
            raise InvalidRequest(
                f"starting_after={starting_after!r} is not one of your renders.",
                param="starting_after",
            )
        query = query.where(
            (Render.created_at < cursor.created_at)
            | ((Render.created_at == cursor.created_at) & (Render.id < cursor.id))
        )
    rows = list(
        session.scalars(query.order_by(Render.created_at.desc(), Render.id.desc()).limit(limit + 1))
    )
    return rows[:limit], len(rows) > limit


def balance(session: Session, account_id: str) -> int:
    return session.get_one(Account, account_id).credits
