"""Create accounts, change plans, grant credits."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from tds.catalogue import DEFAULT_PLAN, PLANS
from tds.credits import ledger
from tds.exceptions import InvalidRequest, NotFound
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


def ensure(
    session: Session, email: str, *, plan: str | None = None, credits: int | None = None
) -> tuple[Account, bool]:
    """The account for `email`, created if missing. Returns (account, created).

    A new account gets `credits` if given, else its plan's monthly credits. An existing one gets
    `credits` added when given.
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
    elif credits:
        ledger.grant(session, account.id, credits, note="granted by an administrator")
    if plan is not None:
        account.plan = check_plan(plan)
    session.flush()
    session.refresh(account)
    return account, created
