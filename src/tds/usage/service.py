"""What the account spent, grouped by project code or by member, within [start, end).

Read from the ledger itself: a render's credits are spent when its hold is captured, and the
capture entry carries the hold's member, key and project (tds.credits.ledger), so the report
is the window's capture entries joined to their holds' amounts. Refunded (released) holds
spend nothing and are not counted. A render counts in the window in which it was captured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tds.exceptions import InvalidRequest
from tds.models import Account, Hold, LedgerEntry
from tds.usage import schemas
from tds.usage.schemas import GroupBy

GROUP_BYS: tuple[GroupBy, ...] = ("project", "member")
NO_PROJECT = "(no project)"  # the label of renders sent without a project code (group null)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def check_group_by(value: str) -> GroupBy:
    for known in GROUP_BYS:
        if value == known:
            return known
    raise InvalidRequest(
        f"group_by must be one of: {', '.join(GROUP_BYS)}; got {value!r}.", param="group_by"
    )


def parse_moment(value: str, param: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time (UTC when it names no offset)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            f"{param} must be an ISO 8601 date (2026-12-01) or date-time "
            f"(2026-12-01T09:30:00Z); got {value!r}.",
            param=param,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window(start: str | None, end: str | None, *, now: datetime) -> Window:
    """The window [start, end) asked for; by default, from the start of this month (UTC) to
    `now`. InvalidRequest for a date that does not parse, or a start not before the end."""
    first = (
        parse_moment(start, "from")
        if start is not None
        else now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    last = parse_moment(end, "to") if end is not None else now.astimezone(UTC)
    if first >= last:
        raise InvalidRequest(
            f"from ({first.isoformat()}) must be before to ({last.isoformat()}).", param="from"
        )
    return Window(first, last)


def report(session: Session, account_id: str, group_by: GroupBy, span: Window) -> schemas.Usage:
    """The account's credits spent and renders within `span`, one row per project code (None
    for renders without one) or per member, most credits first."""
    key = LedgerEntry.project if group_by == "project" else LedgerEntry.member_id
    query = (
        select(
            key.label("group"),
            func.coalesce(func.sum(Hold.amount), 0).label("credits"),
            func.count().label("renders"),
        )
        .select_from(LedgerEntry)
        .join(Hold, Hold.id == LedgerEntry.hold_id)
        .where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.kind == "capture",
            LedgerEntry.created_at >= span.start,
            LedgerEntry.created_at < span.end,
        )
        .group_by(key)
    )
    rows = [(row.group, int(row.credits), int(row.renders)) for row in session.execute(query)]
    labels: dict[str | None, str] = {None: NO_PROJECT}
    if group_by == "member":
        members = [group for group, _, _ in rows if group is not None]
        found = session.execute(select(Account.id, Account.email).where(Account.id.in_(members)))
        labels = {None: "(unknown)"} | {row.id: row.email for row in found}
    groups = [
        schemas.UsageGroup(
            group=group,
            label=group if group_by == "project" and group is not None else labels.get(group, ""),
            credits_spent=credits,
            renders=renders,
        )
        for group, credits, renders in rows
    ]
    groups.sort(key=lambda g: (-g.credits_spent, -g.renders, g.label))
    return schemas.Usage(
        group_by=group_by,
        start=span.start,
        end=span.end,
        data=groups,
        total=schemas.UsageTotals(
            credits_spent=sum(g.credits_spent for g in groups),
            renders=sum(g.renders for g in groups),
        ),
    )
