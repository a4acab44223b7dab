from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tds.kit.db import Base, UtcDateTime, utcnow


class LedgerEntry(Base):
    """One append-only change to an account's available credits (triggers forbid edits).

    kinds: grant (+), hold (−, credits set aside), release (+, hold returned), capture (0: the
    held credits are spent for good).

    Who and what each entry is for: `member_id` is the person whose action caused it (the
    account id of the member who rendered; the same as `account_id`, the pool that pays, until
    an account is a team with several members; None for grants nobody asked for),
    `api_key_id` the key they used (None from the dashboard and for grants), `source` one of
    tds.credits.ledger.SOURCES, `project` the render's project code. A hold's capture and
    release carry the hold's member, key and project.
    """

    __tablename__ = "ledger_entries"
    # A hold is held, captured and released at most once each.
    __table_args__ = (UniqueConstraint("hold_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    hold_id: Mapped[str | None] = mapped_column(ForeignKey("holds.id"), default=None)
    render_id: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)
    api_key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[str | None] = mapped_column(String(16), default=None)
    project: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
