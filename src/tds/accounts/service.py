"""Create accounts, change plans, grant credits."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tds.accounts import passwords
from tds.catalogue import DEFAULT_PLAN, PLANS
from tds.credits import ledger
from tds.exceptions import InvalidRequest, NotFound
from tds.kit.db import HotRead
from tds.kit.ids import new_id
from tds.models import Account

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise InvalidRequest(f"{email!r} is not an email address.", param="email")
    return email


def check_plan(plan: str) -> str:
    if plan not in PLANS:
        raise InvalidRequest(f"Unknown plan {plan!r}; choose one of {', '.join(PLANS)}.")
    return plan


def find_by_email(session: Session, email: str) -> Account | None:
    return session.scalar(select(Account).where(Account.email == normalise_email(email)))


def get_by_email(session: Session, email: str) -> Account:
    account = find_by_email(session, email)
    if account is None:
        raise NotFound(f"No account with the email {email}.")
    return account


def self_signed_up(account: Account) -> bool:
    """Whether the account chose its own password on the dashboard's sign-up page. Nothing
    verifies an email address yet, so anyone could have made such an account in someone else's
    name; accounts made by an administrator have no password."""
    return account.password_hash is not None


def check_vouched(account: Account, *, existing: bool) -> None:
    """Refuse to act for an administrator on a self-signed-up account unless they vouch for it
    (`existing`): a key, credits or a plan given to it would go to whoever signed up with that
    address, possibly an attacker who did so before its real owner (account pre-hijacking)."""
    if existing or not self_signed_up(account):
        return
    raise InvalidRequest(
        f"{account.email} signed itself up on the dashboard with a password it chose, and its "
        "email address was never verified: anyone could have made this account in that name. "
        "Nothing was changed. Pass --existing if you know the account belongs to this person.",
        param="email",
    )


def ensure(
    session: Session,
    email: str,
    *,
    plan: str | None = None,
    credits: int | None = None,
    existing: bool = False,
) -> tuple[Account, bool]:
    """The account for `email`, created if missing. Returns (account, created).

    A new account gets `credits` if given, else its plan's monthly credits. An existing one gets
    `credits` added when given; one that signed itself up is refused (`check_vouched`) unless
    `existing` says the caller knows it belongs to this person.
    """
    account = find_by_email(session, email)
    created = account is None
    if account is None:
        account = Account(
            id=new_id("acc"),
            email=normalise_email(email),
            plan=check_plan(plan or DEFAULT_PLAN),
            credits=0,
            credits_held=0,
        )
        session.add(account)
        session.flush()
        amount = PLANS[account.plan].monthly_credits if credits is None else credits
        if amount > 0:
            ledger.grant(session, account.id, amount, note="welcome credits")
    else:
        check_vouched(account, existing=existing)
        if credits:
            ledger.grant(session, account.id, credits, note="granted by an administrator")
    if plan is not None:
        account.plan = check_plan(plan)
    session.flush()
    session.refresh(account)
    return account, created


def get_vouched(session: Session, email: str, *, existing: bool) -> Account:
    """The account for `email` (404 when there is none), refused like `ensure` when it signed
    itself up and the caller does not vouch for it."""
    account = get_by_email(session, email)
    check_vouched(account, existing=existing)
    return account


def check_sign_up(email: str, password: str) -> str:
    """The normalised email when a sign-up with these could go ahead; InvalidRequest for an
    address that is not one or a weak password (neither depends on who has an account)."""
    email = normalise_email(email)
    passwords.check_strength(password)
    return email


def sign_up(session: Session, email: str, password_hash: str) -> Account | None:
    """A new account on the default plan, with its credits, that signs in with the password
    whose hash this is (hashed by the caller, outside the write transaction). None, with
    nothing changed, when the email already has an account: the caller answers both alike, so
    sign-up never tells whether an address has an account (the caller hashes either way, so
    both also take about as long)."""
    if find_by_email(session, email) is not None:
        return None
    account, _ = ensure(session, email)
    account.password_hash = password_hash
    return account


def check_password(session: Session, email: str, password: str) -> Account | None:
    """The account when the email and password match, else None (in the same time either way)."""
    try:
        account = find_by_email(session, email)
    except InvalidRequest:
        account = None
    if not passwords.verify(account.password_hash if account else None, password):
        return None
    assert account is not None
    assert account.password_hash is not None
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return account


def balance(session: Session, account_id: str) -> int:
    return session.get_one(Account, account_id).credits


_SUMMARY = HotRead(
    select(
        Account.id,
        Account.email,
        Account.plan,
        Account.credits,
        Account.credits_held,
        Account.created_at,
    ).where(Account.id == bindparam("account_id"))
)


def summary(session: Session, account_id: str) -> Any:
    """What /me shows: one keyed read, on the hot path (no ORM object is built)."""
    row = _SUMMARY.first(session, account_id=account_id)
    if row is None:
        raise NotFound(f"No account with the id {account_id}.")
    return row
