from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tds.kit.db import Base, UtcDateTime, utcnow


class CreditPurchase(Base):
    """A credit pack someone started to buy: one Stripe Checkout Session, recorded when tds
    created it, with what it grants (the pack's credits then, whatever the pack says later).

    Granted exactly once: `granted_at` is set by one guarded UPDATE (`… WHERE granted_at IS
    NULL`) in the same transaction as the ledger's grant, and the event that granted it is
    unique here as in `stripe_events`."""

    __tablename__ = "credit_purchases"
    __table_args__ = (
        CheckConstraint("credits > 0", name="credits_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # pur_…
    checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)  # cs_…
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)  # the team
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))  # who bought
    pack_id: Mapped[str] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)  # the price in the currency's minor unit
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    granted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # The event that granted it (None: the buyer's return to the success page did).
    event_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
