"""Reading an account's renders: one, one with the balance, a page, a parent to work from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tds.exceptions import InvalidRequest, NotFound
from tds.kit.db import HotRead
from tds.models import Account, Render, RenderStatus


def get_owned(session: Session, account_id: str, render_id: str) -> Render:
    render = session.get(Render, render_id)
    if render is None or render.account_id != account_id:
        raise NotFound(f"No render with the id {render_id}.", param="render_id")
    return render


_WITH_BALANCE = HotRead(
    select(Render.__table__, Account.credits.label("account_credits"))
    .join(Account, Account.id == Render.account_id)
    .where(Render.id == bindparam("p_id"), Render.account_id == bindparam("p_account"))
)


def get_with_balance(session: Session, account_id: str, render_id: str) -> Any:
    """One of the account's renders as a row (attributes as on Render) plus `account_credits`:
    what every answer about a render shows, in one query (clients poll it)."""
    row = _WITH_BALANCE.first(session, p_id=render_id, p_account=account_id)
    if row is None:
        raise NotFound(f"No render with the id {render_id}.", param="render_id")
    return row


def parent_for(session: Session, account_id: str, render_id: str) -> Render:
    parent = get_owned(session, account_id, render_id)
    if parent.status != RenderStatus.DONE or parent.output_key is None:
        raise InvalidRequest(
            f"Render {render_id} is {parent.status}; only a finished render can be worked on.",
            param="render_id",
        )
    return parent


def list_owned(
    session: Session,
    account_id: str,
    *,
    limit: int,
    starting_after: str | None,
    project: str | None = None,
) -> tuple[list[Render], bool]:
    """Newest first; `starting_after` is the id of the last render of the previous page;
    `project`: only the renders billed to that project code."""
    query = select(Render).where(Render.account_id == account_id)
    if project is not None:
        query = query.where(Render.project == project)
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
