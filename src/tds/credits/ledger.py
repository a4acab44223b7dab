"""Grant, hold, capture and release credits: the one place balances change.

A render holds its cost when accepted, with one conditional UPDATE, so the balance can never go
below zero whatever the concurrency. The hold is later resolved exactly once: captured when the
engine succeeds, released when it fails, is canceled, times out or the server restarts. Each
function takes the caller's session and does not commit: the caller's unit of work does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tds.exceptions import InsufficientCredits
from tds.kit.db import utcnow
from tds.kit.ids import new_id
from tds.models import Account, Hold, LedgerEntry


def grant(session: Session, account_id: str, amount: int, note: str = "") -> None:
    if amount <= 0:
        raise ValueError("a grant must be positive")
    session.execute(
        update(Account).where(Account.id == account_id).values(credits=Account.credits + amount)
    )
    session.add(LedgerEntry(account_id=account_id, amount=amount, kind="grant", note=note))


def hold(
    session: Session, account_id: str, amount: int, *, expires_at: datetime, render_id: str
) -> str:
    """Set `amount` aside for a render; InsufficientCredits when the balance is short."""
    row = session.execute(
        update(Account)
        .where(Account.id == account_id, Account.credits >= amount)
        .values(credits=Account.credits - amount, credits_held=Account.credits_held + amount)
        .returning(Account.credits)
    ).first()
    if row is None:
        available = session.scalar(select(Account.credits).where(Account.id == account_id))
        raise InsufficientCredits(
            f"This costs {amount} credits and the account has {available} available. "
            "Buy credits or upgrade the plan, or choose a lower resolution.",
            credits=available,
            cost=amount,
        )
    hold_id = new_id("hold")
    session.add(Hold(id=hold_id, account_id=account_id, amount=amount, expires_at=expires_at))
    session.flush()  # the entry's foreign key needs the hold row
    session.add(
        LedgerEntry(
            account_id=account_id, amount=-amount, kind="hold", hold_id=hold_id, render_id=render_id
        )
    )
    return hold_id


def _resolve(session: Session, hold_id: str, state: str) -> Hold | None:
    """Move a hold out of 'held' exactly once; None when it was already resolved."""
    resolved = session.execute(
        update(Hold)
        .where(Hold.id == hold_id, Hold.state == "held")
        .values(state=state, resolved_at=utcnow())
        .returning(Hold)
    ).scalar_one_or_none()
    return resolved


def capture(session: Session, hold_id: str, render_id: str) -> bool:
    """Spend the held credits. False when the hold was already resolved (nothing changes)."""
    resolved = _resolve(session, hold_id, "captured")
    if resolved is None:
        return False
    session.execute(
        update(Account)
        .where(Account.id == resolved.account_id)
        .values(credits_held=Account.credits_held - resolved.amount)
    )
    session.add(
        LedgerEntry(
            account_id=resolved.account_id,
            amount=0,
            kind="capture",
            hold_id=hold_id,
            render_id=render_id,
            note=f"spent {resolved.amount}",
        )
    )
    return True


def release(session: Session, hold_id: str, render_id: str, note: str = "") -> bool:
    """Return the held credits in full. False when the hold was already resolved."""
    resolved = _resolve(session, hold_id, "released")
    if resolved is None:
        return False
    session.execute(
        update(Account)
        .where(Account.id == resolved.account_id)
        .values(
            credits=Account.credits + resolved.amount,
            credits_held=Account.credits_held - resolved.amount,
        )
    )
    session.add(
        LedgerEntry(
            account_id=resolved.account_id,
            amount=resolved.amount,
            kind="release",
            hold_id=hold_id,
            render_id=render_id,
            note=note,
        )
    )
    return True


def extend(session: Session, hold_id: str, expires_at: datetime) -> None:
    session.execute(
        update(Hold).where(Hold.id == hold_id, Hold.state == "held").values(expires_at=expires_at)
    )


def expired_holds(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(Hold.id).where(Hold.state == "held", Hold.expires_at < now)))


@dataclass(frozen=True)
class Books:
    credits: int
    credits_held: int
    ledger_sum: int
    open_holds_sum: int

    @property
    def balanced(self) -> bool:
        return (
            self.credits == self.ledger_sum
            and self.credits_held == self.open_holds_sum
            and self.credits >= 0
            and self.credits_held >= 0
        )


def books(session: Session, account_id: str) -> Books:
    """The cached balances beside what the ledger and the open holds say they must be."""
    account = session.get_one(Account, account_id)
    ledger_sum = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account_id
        )
    )
    open_holds = session.scalar(
        select(func.coalesce(func.sum(Hold.amount), 0)).where(
            Hold.account_id == account_id, Hold.state == "held"
        )
    )
    return Books(account.credits, account.credits_held, int(ledger_sum or 0), int(open_holds or 0))
