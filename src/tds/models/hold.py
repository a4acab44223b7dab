from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tds.kit.db import Base, UtcDateTime, utcnow


class Hold(Base):
    """Credits set aside for one render: resolved exactly once, to captured or released."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("state IN ('held', 'captured', 'released')", name="state_known"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="held", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The lease: an unresolved hold past this moment is released by the reaper.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # Who the hold is for, copied onto its capture or release entry (see LedgerEntry): kept
    # here so that resolving a hold reads them in the one guarded UPDATE it already runs.
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)
    api_key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[str | None] = mapped_column(String(16), default=None)
    project: Mapped[str | None] = mapped_column(String(100), default=None)
