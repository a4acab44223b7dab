from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tds.kit.db import Base, UtcDateTime, utcnow

ROLES = ("owner", "admin", "member")


class TeamMember(Base):
    """One person's place in a team. A team is an account whose credits its members share;
    every account is its own (personal) team, with itself as the owner.

    The monthly cap is counted here, in the same transaction as the team's hold, so that two
    renders of one member racing each other cannot both pass it: `cap_spent` is what the member
    has spent (or holds) in `cap_period` ("2026-12", UTC), and a new period starts it at zero.
    """

    __tablename__ = "team_members"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'admin', 'member')", name="role_known"),
        CheckConstraint("monthly_cap IS NULL OR monthly_cap >= 0", name="cap_not_negative"),
        CheckConstraint("cap_spent >= 0", name="cap_spent_not_negative"),
    )

    team_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(8))
    monthly_cap: Mapped[int | None] = mapped_column(Integer, default=None)  # None: no cap
    cap_period: Mapped[str] = mapped_column(String(7), default="")
    cap_spent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
