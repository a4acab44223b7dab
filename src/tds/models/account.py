from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tds.kit.db import Base, UtcDateTime, utcnow


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("credits >= 0", name="credits_not_negative"),
        CheckConstraint("credits_held >= 0", name="credits_held_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    plan: Mapped[str] = mapped_column(String(32))
    # argon2id; None for accounts that only use API keys (made with `tds admin create-key`).
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    # Cached balances; the ledger is the truth: credits == Σ ledger_entries.amount and
    # credits_held == Σ holds.amount in state 'held'.
    credits: Mapped[int] = mapped_column(Integer, default=0)
    credits_held: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the owner followed the emailed confirmation link; None: not yet (a dashboard sign-up
    # cannot log in, nor has its welcome credits, until then). Operator-made accounts: at once.
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # The name its members see when the account is shared as a team; None: the email.
    team_name: Mapped[str | None] = mapped_column(String(100), default=None)
    # The team this person worked in last (tds.web.sessions.switch_team): a new dashboard
    # session starts there. None: their own.
    last_team_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), default=None)
