"""Render lifecycle in the database: create (with its hold), start, complete, fail, cancel,
reap, recover.

Every transition is a guarded UPDATE on the status, so a late worker, a cancel and the reaper
can race freely: exactly one of them moves a render out of flight, and only that one resolves
its hold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tds import catalogue
from tds.catalogue import PLANS
from tds.credits import ledger
from tds.engines.base import RenderOptions
from tds.exceptions import RenderFinished
from tds.images.intake import CleanImage
from tds.keys.service import Principal
from tds.kit.db import utcnow
from tds.models import Account, Render, RenderStatus
from tds.models.render import FINAL, IN_FLIGHT
from tds.renders.queries import get_owned
from tds.storage.base import Put, new_key

log = logging.getLogger("tds.renders")

MAX_ATTEMPTS = 2  # a render interrupted twice by restarts fails instead of trying again


def create(
    session: Session,
    put: Put,
    *,
    render_id: str,
    principal: Principal,
    options: RenderOptions,
    source: str,
    image: CleanImage | None,
    parent: Render | None,
    hold_for: timedelta,
    project: str | None = None,
) -> None:
    """Hold the cost (for `hold_for`, until a worker starts it), store a new input image and
    insert the queued render. The ledger records who holds it (the member, their key) and `project`.

    The caller commits (with `put` staged on that transaction), then dispatches.
    """
    if image is not None:
        width, height = catalogue.output_size(image.width, image.height, options.resolution)
        input_key = new_key("inputs", image.extension)
    else:
        assert parent is not None
        assert parent.output_key is not None
        width, height = catalogue.output_size(parent.width, parent.height, options.resolution)
        input_key = parent.output_key
    cost = catalogue.COSTS[options.kind][options.resolution]
    now = utcnow()
    hold_id = ledger.hold(
        session,
        principal.account_id,
        cost,
        expires_at=now + hold_for,
        render_id=render_id,
        member_id=principal.member_id,
        api_key_id=principal.key_id,
        source="api" if principal.key_id else "dashboard",
        project=project,
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
            status=RenderStatus.QUEUED,
            source=source,
            project=project,
            **asdict(options),
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
    input_key: str
    width: int
    height: int
    options: RenderOptions


_OPTIONS = tuple(getattr(Render, f.name) for f in fields(RenderOptions))
_START = (
    update(Render)
    .where(Render.id == bindparam("p_id"), Render.status == RenderStatus.QUEUED)
    .values(
        status=RenderStatus.PROCESSING,
        started_at=bindparam("p_now"),
        attempts=Render.attempts + 1,
    )
    .returning(Render.hold_id, Render.id, Render.input_key, Render.width, Render.height, *_OPTIONS)
)
_COMPLETE = (
    update(Render)
    .where(Render.id == bindparam("p_id"), Render.status == RenderStatus.PROCESSING)
    .values(
        status=RenderStatus.DONE,
        output_key=bindparam("p_output"),
        video_key=bindparam("p_video"),
        warnings=bindparam("p_warnings", type_=JSON),
        engine=bindparam("p_engine"),
        fidelity_score=bindparam("p_score"),
        completed_at=bindparam("p_now"),
        credits_used=Render.cost,
    )
    .returning(Render.hold_id)
)


@dataclass(frozen=True)
class Finished:
    """What a worker stored for a render that succeeded."""

    output_key: str
    video_key: str | None
    warnings: list[str]
    engine: str
    fidelity_score: float | None


def start(session: Session, render_id: str, lease: timedelta) -> Started | None:
    """Mark a queued render processing; None when it is no longer queued (canceled, reaped)."""
    now = utcnow()
    row = session.connection().execute(_START, {"p_id": render_id, "p_now": now}).first()
    if row is None:
        return None
    if row.hold_id:
        ledger.extend(session, row.hold_id, now + lease)
    return Started(
        id=row.id,
        input_key=row.input_key,
        width=row.width,
        height=row.height,
        options=options_of(row),
    )


def options_of(render: Render | Row[Any]) -> RenderOptions:
    """A stored render's options (an ORM object or a row of the renders table)."""
    return RenderOptions(**{f.name: getattr(render, f.name) for f in fields(RenderOptions)})


def complete(session: Session, render_id: str, finished: Finished) -> bool:
    """Record the output and capture the hold; False when the render left processing meanwhile."""
    done = (
        session.connection()
        .execute(
            _COMPLETE,
            {
                "p_id": render_id,
                "p_output": finished.output_key,
                "p_video": finished.video_key,
                "p_warnings": finished.warnings,
                "p_engine": finished.engine,
                "p_score": finished.fidelity_score,
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
    status: RenderStatus = RenderStatus.FAILED,
    by_system: bool = False,
) -> bool:
    """End an in-flight render as failed (or canceled) and release its hold in full; the
    release's source is the hold's, or "system" when tds itself ends it (`by_system`: the
    reaper, a restart)."""
    ended = session.execute(
        update(Render)
        .where(Render.id == render_id, Render.status.in_(statuses))
        .values(
            status=status,
            error_code=code if status == RenderStatus.FAILED else None,
            error_message=message if status == RenderStatus.FAILED else None,
            completed_at=utcnow(),
        )
        .returning(Render.hold_id)
        .execution_options(synchronize_session=False)
    ).first()
    if ended is None:
        return False
    if ended.hold_id:
        ledger.release(
            session,
            ended.hold_id,
            render_id,
            note=f"{status}: {code}",
            source="system" if by_system else None,
        )
    return True


def cancel(session: Session, account_id: str, render_id: str) -> Render:
    render = get_owned(session, account_id, render_id)
    if render.status in FINAL:
        raise RenderFinished(f"Render {render_id} is already {render.status}; nothing to cancel.")
    fail(session, render_id, "canceled", "Canceled by the user.", status=RenderStatus.CANCELED)
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
            by_system=True,
        ):
            reaped.append(render_id)
        else:
            ledger.release(session, hold_id, render_id or "", note="expired", source="system")
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
            statuses=(RenderStatus.PROCESSING,),
            by_system=True,
        )
        return
    render.status = RenderStatus.QUEUED
    session.flush()


def recover(session: Session) -> list[Pending]:
    """After a restart: requeue interrupted renders (or fail them after MAX_ATTEMPTS).

    Returns every queued render, oldest first, for the dispatcher.
    """
    for render in session.scalars(select(Render).where(Render.status == RenderStatus.PROCESSING)):
        _retry_or_fail(session, render)
    rows = session.execute(
        select(Render.id, Render.account_id, Account.plan)
        .join(Account, Account.id == Render.account_id)
        .where(Render.status == RenderStatus.QUEUED)
        .order_by(Render.created_at)
    )
    return [Pending(row.id, row.account_id, PLANS[row.plan].max_in_flight) for row in rows]


def resume_redelivered(session: Session, render_id: str) -> None:
    """A queue delivered a render that is already processing: the worker that had it died
    (its job came back unacknowledged). Queue it again, or fail and refund it after
    MAX_ATTEMPTS; a render in any other state is left alone."""
    render = session.get(Render, render_id, with_for_update=True)
    if render is not None and render.status == RenderStatus.PROCESSING:
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
            Render.account_id == row.account_id, Render.status == RenderStatus.PROCESSING
        )
    )
    return (running or 0) >= PLANS[row.plan].max_in_flight
