"""Grant, hold, capture and release credits: the one place balances change.

A render holds its cost when accepted, with one conditional UPDATE, so the balance can never go
below zero whatever the concurrency. The hold is later resolved exactly once: captured when the
engine succeeds, released when it fails, is canceled, times out or the server restarts. Each
function takes the caller's session and does not commit: the caller's unit of work does.

Every amount is an int of at most MAX_CREDITS (a grant at least 1, a hold at least 0), and a
grant is refused when it would take an account's credits plus credits_held past MAX_CREDITS
(holds, captures and releases only move credits between the two, so neither can pass it). The
columns are 32-bit INTEGER on PostgreSQL, and SQLite turns an overflowing integer into a float:
the bound stays far inside both.

Every entry also says who and what it was for (LedgerEntry: `member_id`, `api_key_id`,
`source`, `project`): a hold records them on its row too, so its capture and release, which
name only the hold, copy them from what the guarded UPDATE that resolves it returns, at no
extra statement. `source` is one of SOURCES.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tds.credits import caps
from tds.exceptions import InsufficientCredits, InvalidRequest, NotFound
from tds.kit.db import utcnow
from tds.kit.ids import new_id
from tds.models import Account, Hold, LedgerEntry

# The most credits an account may have, available and held together: well under 2**31 - 1, the
# largest INTEGER on PostgreSQL (and SQLite's 2**63 - 1), so no sum the ledger makes can overflow.
MAX_CREDITS = 10**9

# What caused an entry: a request with an API key, the signed-in dashboard, an operator (`tds
# admin`), sign-up (welcome credits), tds itself (the reaper releasing expired holds, periodic
# jobs), the monthly allowance, a purchase.
Source = Literal["api", "dashboard", "admin", "signup", "system", "allowance", "purchase"]
SOURCES: tuple[str, ...] = get_args(Source)

# Prepared Core statements run on the session's connection: every render runs these twice, and
# the ORM's unit of work and per-call statement building cost more than the SQL itself.
_ADD = (
    update(Account)
    .where(Account.id == bindparam("p_account"))
    .values(
        credits=Account.credits + bindparam("p_credits"),
        credits_held=Account.credits_held + bindparam("p_held"),
    )
)
_GRANT = (
    update(Account)
    .where(
        Account.id == bindparam("p_account"),
        Account.credits + Account.credits_held <= bindparam("p_room"),
    )
    .values(credits=Account.credits + bindparam("p_amount"))
)
_HOLD = (
    update(Account)
    .where(Account.id == bindparam("p_account"), Account.credits >= bindparam("p_amount"))
    .values(
        credits=Account.credits - bindparam("p_amount"),
        credits_held=Account.credits_held + bindparam("p_amount"),
    )
    .returning(Account.credits)
)
_RESOLVE = (
    update(Hold)
    .where(Hold.id == bindparam("p_hold"), Hold.state == "held")
    .values(state=bindparam("p_state"), resolved_at=bindparam("p_now"))
    .returning(
        Hold.account_id,
        Hold.amount,
        Hold.member_id,
        Hold.api_key_id,
        Hold.source,
        Hold.project,
        Hold.created_at,
    )
)
_EXTEND = (
    update(Hold)
    .where(Hold.id == bindparam("p_hold"), Hold.state == "held")
    .values(expires_at=bindparam("p_expires"))
)


def _entry(
    session: Session,
    account_id: str,
    amount: int,
    kind: str,
    *,
    hold_id: str | None = None,
    render_id: str | None = None,
    note: str = "",
    member_id: str | None = None,
    api_key_id: str | None = None,
    source: str | None = None,
    project: str | None = None,
) -> None:
    session.connection().execute(
        insert(LedgerEntry),
        {
            "account_id": account_id,
            "amount": amount,
            "kind": kind,
            "hold_id": hold_id,
            "render_id": render_id,
            "note": note,
            "member_id": member_id,
            "api_key_id": api_key_id,
            "source": source,
            "project": project,
            "created_at": utcnow(),
        },
    )


def _add_to_account(session: Session, account_id: str, credits: int, held: int) -> None:
    session.connection().execute(
        _ADD, {"p_account": account_id, "p_credits": credits, "p_held": held}
    )


def check_amount(amount: object, *, least: int = 1, param: str = "credits") -> int:
    """`amount` when it is an int from `least` to MAX_CREDITS, else InvalidRequest."""
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or not least <= amount <= MAX_CREDITS
    ):
        raise InvalidRequest(
            f"A credit amount must be a whole number from {least} to {MAX_CREDITS:,}; "
            f"got {amount!r}.",
            param=param,
        )
    return amount


def grant(
    session: Session,
    account_id: str,
    amount: int,
    note: str = "",
    *,
    source: Source = "admin",
    member_id: str | None = None,
) -> None:
    """Add `amount` credits; InvalidRequest, with nothing changed, past MAX_CREDITS.

    `source` says why (SOURCES: "signup" for welcome credits, "admin" by an operator, …);
    `member_id` is the person who asked for it, if anyone did."""
    check_amount(amount)
    changed = (
        session.connection()
        .execute(
            _GRANT,
            {"p_account": account_id, "p_amount": amount, "p_room": MAX_CREDITS - amount},
        )
        .rowcount
    )
    if changed != 1:
        row = session.execute(
            select(Account.credits, Account.credits_held).where(Account.id == account_id)
        ).first()
        if row is None:
            raise NotFound(f"No account with the id {account_id}.")
        raise InvalidRequest(
            f"Granting {amount:,} credits would take the account past the maximum of "
            f"{MAX_CREDITS:,} (it has {row.credits:,} available and {row.credits_held:,} held).",
            param="credits",
        )
    _entry(session, account_id, amount, "grant", note=note, source=source, member_id=member_id)


def hold(
    session: Session,
    account_id: str,
    amount: int,
    *,
    expires_at: datetime,
    render_id: str,
    member_id: str | None = None,
    api_key_id: str | None = None,
    source: Source = "api",
    project: str | None = None,
) -> str:
    """Set `amount` aside for a render; InsufficientCredits when the balance is short.

    `member_id` is the person rendering (by default the account itself: the one member of an
    account that is not a team), `api_key_id` the key they used (None from the dashboard),
    `source` "api" or "dashboard", `project` the render's project code. The hold's capture or
    release carries the same member, key and project."""
    check_amount(amount, least=0, param="cost")  # a free hold moves nothing, harmlessly
    member_id = member_id or account_id
    now = utcnow()
    if amount:
        # The member's monthly cap first: past it, the 402 names the team's cap, not the pool.
        # Raising rolls the whole write back, so nothing is counted for a refused render.
        caps.spend(session, account_id, member_id, amount, now)
    connection = session.connection()
    row = connection.execute(_HOLD, {"p_account": account_id, "p_amount": amount}).first()
    if row is None:
        available = session.scalar(select(Account.credits).where(Account.id == account_id))
        raise InsufficientCredits(
            f"This costs {amount} credits and the account has {available} available. "
            "Buy credits or upgrade the plan, or choose a lower resolution.",
            credits=available,
            cost=amount,
        )
    hold_id = new_id("hold")
    connection.execute(
        insert(Hold),
        {
            "id": hold_id,
            "account_id": account_id,
            "amount": amount,
            "state": "held",
            "created_at": now,
            "expires_at": expires_at,
            "member_id": member_id,
            "api_key_id": api_key_id,
            "source": source,
            "project": project,
        },
    )
    _entry(
        session,
        account_id,
        -amount,
        "hold",
        hold_id=hold_id,
        render_id=render_id,
        member_id=member_id,
        api_key_id=api_key_id,
        source=source,
        project=project,
    )
    return hold_id


def _resolve(
    session: Session, hold_id: str, state: str
) -> Row[str, int, str | None, str | None, str | None, str | None, datetime] | None:
    """Move a hold out of 'held' exactly once: its account, amount, member, key, source and
    project, or None if it was already resolved."""
    return (
        session.connection()
        .execute(_RESOLVE, {"p_hold": hold_id, "p_state": state, "p_now": utcnow()})
        .first()
    )


def capture(session: Session, hold_id: str, render_id: str) -> bool:
    """Spend the held credits. False when the hold was already resolved (nothing changes)."""
    held = _resolve(session, hold_id, "captured")
    if held is None:
        return False
    _add_to_account(session, held.account_id, 0, -held.amount)
    _entry(
        session,
        held.account_id,
        0,
        "capture",
        hold_id=hold_id,
        render_id=render_id,
        note=f"spent {held.amount}",
        member_id=held.member_id,
        api_key_id=held.api_key_id,
        source=held.source,
        project=held.project,
    )
    return True


def release(
    session: Session,
    hold_id: str,
    render_id: str,
    note: str = "",
    *,
    source: Source | None = None,
) -> bool:
    """Return the held credits in full. False when the hold was already resolved.

    The entry's source is the hold's, or `source` ("system" when the reaper releases it)."""
    held = _resolve(session, hold_id, "released")
    if held is None:
        return False
    _add_to_account(session, held.account_id, held.amount, -held.amount)
    if held.amount and held.member_id:
        caps.refund(session, held.account_id, held.member_id, held.amount, held.created_at)
    _entry(
        session,
        held.account_id,
        held.amount,
        "release",
        hold_id=hold_id,
        render_id=render_id,
        note=note,
        member_id=held.member_id,
        api_key_id=held.api_key_id,
        source=source or held.source,
        project=held.project,
    )
    return True


def extend(session: Session, hold_id: str, expires_at: datetime) -> None:
    session.connection().execute(_EXTEND, {"p_hold": hold_id, "p_expires": expires_at})


def history(
    session: Session, account_id: str, *, limit: int, offset: int
) -> tuple[list[LedgerEntry], bool]:
    """The account's entries, newest first, and whether there are more."""
    rows = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account_id)
            .order_by(LedgerEntry.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
    )
    return rows[:limit], len(rows) > limit


def expired_holds(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(Hold.id).where(Hold.state == "held", Hold.expires_at < now)))


@dataclass(frozen=True)
class Books:
    credits: int
    credits_held: int
    ledger_sum: int
    open_holds_sum: int
    misresolved_holds: int = 0  # holds whose entries disagree with their state

    @property
    def balanced(self) -> bool:
        return (
            self.credits == self.ledger_sum
            and self.credits_held == self.open_holds_sum
            and self.credits >= 0
            and self.credits_held >= 0
            and self.misresolved_holds == 0
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
    entries: dict[str | None, set[str]] = {}
    for hold_id, kind in session.execute(
        select(LedgerEntry.hold_id, LedgerEntry.kind).where(
            LedgerEntry.account_id == account_id, LedgerEntry.hold_id.is_not(None)
        )
    ):
        entries.setdefault(hold_id, set()).add(kind)
    expected = {"held": {"hold"}, "captured": {"hold", "capture"}, "released": {"hold", "release"}}
    misresolved = sum(
        1
        for hold_id, state in session.execute(
            select(Hold.id, Hold.state).where(Hold.account_id == account_id)
        )
        if entries.get(hold_id, set()) != expected[state]
    )
    return Books(
        account.credits,
        account.credits_held,
        int(ledger_sum or 0),
        int(open_holds or 0),
        misresolved,
    )
