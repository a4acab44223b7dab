"""Members' monthly caps: how much of a team's credits one member may spend in a calendar month
(UTC). Counted in the member's row by one conditional UPDATE in the transaction that holds the
team's credits, so two renders racing each other cannot both pass the cap; a refunded render
gives its credits back to the cap too, when the month it was held in is still the current one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from tds.exceptions import MonthlyCapReached, NotFound
from tds.models import Account, TeamMember


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


_SPENT_THIS_PERIOD = case(
    (TeamMember.cap_period == bindparam("p_period"), TeamMember.cap_spent), else_=0
)
_SPEND = (
    update(TeamMember)
    .where(
        TeamMember.team_id == bindparam("p_team"),
        TeamMember.member_id == bindparam("p_member"),
        or_(
            TeamMember.monthly_cap.is_(None),
            _SPENT_THIS_PERIOD + bindparam("p_amount") <= TeamMember.monthly_cap,
        ),
    )
    .values(cap_spent=_SPENT_THIS_PERIOD + bindparam("p_amount"), cap_period=bindparam("p_period"))
)
_REFUND = (
    update(TeamMember)
    .where(
        TeamMember.team_id == bindparam("p_team"),
        TeamMember.member_id == bindparam("p_member"),
        TeamMember.cap_period == bindparam("p_period"),
        TeamMember.cap_spent >= bindparam("p_amount"),
    )
    .values(cap_spent=TeamMember.cap_spent - bindparam("p_amount"))
)


def spend(session: Session, team_id: str, member_id: str, amount: int, now: datetime) -> None:
    """Count `amount` against the member's cap; MonthlyCapReached (nothing changed) past it,
    NotFound when the member is no longer in the team."""
    params = {
        "p_team": team_id,
        "p_member": member_id,
        "p_amount": amount,
        "p_period": period_of(now),
    }
    if session.connection().execute(_SPEND, params).rowcount == 1:
        return
    row = session.execute(
        select(
            TeamMember.monthly_cap, TeamMember.cap_period, TeamMember.cap_spent, Account.team_name
        )
        .join(Account, Account.id == TeamMember.team_id)
        .where(TeamMember.team_id == team_id, TeamMember.member_id == member_id)
    ).first()
    if row is None:
        raise NotFound("You are no longer a member of this team.")
    spent = row.cap_spent if row.cap_period == period_of(now) else 0
    left = max(0, (row.monthly_cap or 0) - spent)
    raise MonthlyCapReached(
        f"This costs {amount} credits and your monthly cap in this team leaves {left} "
        f"(the team's cap for you is {row.monthly_cap} a month; {spent} spent this month). "
        "The team's owners and admins set caps; ask one of them to raise yours.",
        cost=amount,
        cap=row.monthly_cap,
        cap_left=left,
    )


def refund(session: Session, team_id: str, member_id: str, amount: int, held_at: datetime) -> None:
    """Give back `amount` counted when a hold made at `held_at` was placed; nothing when that
    month is over (a new month's cap starts from zero anyway)."""
    session.connection().execute(
        _REFUND,
        {
            "p_team": team_id,
            "p_member": member_id,
            "p_amount": amount,
            "p_period": period_of(held_at),
        },
    )


def left(member: TeamMember, now: datetime) -> int | None:
    """What the member may still spend this month; None without a cap."""
    if member.monthly_cap is None:
        return None
    spent = member.cap_spent if member.cap_period == period_of(now) else 0
    return max(0, member.monthly_cap - spent)
